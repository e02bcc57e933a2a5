/** Small timing helpers shared by the bench sections. */
export interface Rate {
  label: string;
  opsPerSec: number;
}

/** Runs `fn` for about `ms` milliseconds after a warm-up and returns operations per second. */
export function measure(label: string, fn: () => void, ms = 1000): Rate {
  const warmEnd = performance.now() + Math.min(300, ms / 3);
  while (performance.now() < warmEnd) for (let i = 0; i < 100; i++) fn();
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 200; i++) fn();
    ops += 200;
    now = performance.now();
  }
  return { label, opsPerSec: (ops * 1000) / (now - start) };
}

export function printRates(rates: Rate[]): void {
  const width = Math.max(...rates.map((r) => r.label.length));
  for (const r of rates)
    console.log(
      `  ${r.label.padEnd(width)}  ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(12)} /s`,
    );
}

export function ratio(a: Rate, b: Rate): string {
  return `${(a.opsPerSec / b.opsPerSec).toFixed(1)}x`;
}
