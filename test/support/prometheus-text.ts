/** One scrape in the Prometheus text format, read into its samples. */
export class Scrape {
  readonly #samples = new Map<string, number>();

  constructor(readonly text: string) {
    for (const line of text.split('\n')) {
      const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!sample) continue;
      const labels: Record<string, string> = {};
      for (const [, name, value] of (sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[name!] = value!;
      this.#samples.set(Scrape.#key(sample[1]!, labels), Number(sample[3]));
    }
  }

  static #key(name: string, labels: Record<string, string>): string {
    return `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;
  }

  /** The sample's value, or undefined when the scrape has no such series. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    return this.#samples.get(Scrape.#key(name, labels));
  }

  /** How much a series grew since `before` (a series absent then counts from 0). */
  increase(before: Scrape, name: string, labels: Record<string, string> = {}): number {
    return (this.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0);
  }

  /** Every value the label takes among the series of `name`. */
  labelValues(name: string, label: string): string[] {
    const values = new Set<string>();
    for (const key of this.#samples.keys()) {
      if (!key.startsWith(`${name}[`)) continue;
      const entry = (JSON.parse(key.slice(name.length)) as [string, string][]).find(([each]) => each === label);
      if (entry) values.add(entry[1]);
    }
    return [...values];
  }
}

/** GET /metrics from a metrics listener. */
export async function scrape(port: number): Promise<Scrape> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (response.status !== 200) throw new Error(`scrape answered ${response.status}`);
  return new Scrape(await response.text());
}
