/** Archives per status at one moment of virtual time (milliseconds since the run started). */
export interface TimelinePoint {
  readonly virtualMs: number;
  readonly counts: Readonly<Record<string, number>>;
}

/** Archives by status over virtual time: a point each time the counts change (for report.html). */
export class StatusTimeline {
  public readonly points: TimelinePoint[] = [];
  private last = '';

  public record(virtualMs: number, counts: Readonly<Record<string, number>>): void {
    const key = JSON.stringify(counts);
    if (key === this.last) return;
    this.last = key;
    this.points.push({ virtualMs, counts: { ...counts } });
  }
}
