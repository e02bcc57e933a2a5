/** The running reader simulator as its BLE front and tests see it (apart from index.ts, which starts it). */
import type { Behaviour } from './behaviour.js';
import type { ReaderSimulator } from './simulator.js';
export interface ReaderSimulatorHandle {
  simulator: ReaderSimulator;
  /** TCP port, with `tcp`. */
  port: number | undefined;
  controlPort: number | undefined;
  /** The serial path to open: the `serial` path, or the pseudo-terminal slave with `pty`. */
  serialPath: string | undefined;
  behaviour(): Behaviour;
  setBehaviour(b: Partial<Behaviour>): Behaviour;
  dropLink(ms?: number): void;
  reset(): void;
  close(): Promise<void>;
}
