/**
 * Drawing on a canvas with a finger, pen or mouse (pointer events), for the customer's signature. It only
 * draws; the element sends `toPng()` with payment.signature. White background, so the PNG reads on any
 * receipt.
 */
export class SignaturePad {
  private readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private drawing = false;
  private inkValue = false;
  private readonly onInk: () => void;
  private readonly listeners: [string, (e: PointerEvent) => void][];

  constructor(canvas: HTMLCanvasElement, onInk: () => void) {
    this.canvas = canvas;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('signature pad: no 2d canvas context');
    this.ctx = ctx;
    this.onInk = onInk;
    this.listeners = [
      ['pointerdown', (e) => this.down(e)],
      ['pointermove', (e) => this.move(e)],
      ['pointerup', () => this.up()],
      ['pointercancel', () => this.up()],
    ];
    for (const [type, l] of this.listeners) canvas.addEventListener(type, l as EventListener);
    this.clear();
  }

  /** Something has been drawn since the last clear. */
  get ink(): boolean {
    return this.inkValue;
  }

  clear(): void {
    this.ctx.fillStyle = '#fff';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.inkValue = false;
    this.onInk();
  }

  /** The drawing as a PNG data: URI (what payment.signature takes). */
  toPng(): string {
    return this.canvas.toDataURL('image/png');
  }

  destroy(): void {
    for (const [type, l] of this.listeners) this.canvas.removeEventListener(type, l as EventListener);
  }

  /** Canvas pixels from a pointer position (the canvas is scaled by CSS to the element's width). */
  private at(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [
      ((e.clientX - r.left) * this.canvas.width) / (r.width || 1),
      ((e.clientY - r.top) * this.canvas.height) / (r.height || 1),
    ];
  }

  private down(e: PointerEvent): void {
    this.drawing = true;
    this.canvas.setPointerCapture?.(e.pointerId);
    const [x, y] = this.at(e);
    this.ctx.beginPath();
    this.ctx.moveTo(x, y);
    e.preventDefault();
  }

  private move(e: PointerEvent): void {
    if (!this.drawing) return;
    const [x, y] = this.at(e);
    this.ctx.lineWidth = 3;
    this.ctx.lineCap = 'round';
    this.ctx.lineJoin = 'round';
    this.ctx.strokeStyle = '#111';
    this.ctx.lineTo(x, y);
    this.ctx.stroke();
    if (!this.inkValue) {
      this.inkValue = true;
      this.onInk();
    }
  }

  private up(): void {
    this.drawing = false;
  }
}
