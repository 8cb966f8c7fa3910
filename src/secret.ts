/**
 * A value that must never be printed. `String(secret)`, `JSON.stringify(secret)` and
 * `Bun.inspect(secret)` all give `***`; only `reveal()` returns the value, and callers pass it
 * straight to a subprocess's stdin or an HTTP header, never to argv, logs or error messages.
 */
const value = new WeakMap<Secret, string>();

export class Secret {
  /** Where the value came from, e.g. `env REGISTRY_PASSWORD` or `file /run/secrets/pw`. Safe to print. */
  readonly source: string;

  constructor(secret: string, source: string) {
    value.set(this, secret);
    this.source = source;
  }

  reveal(): string {
    return value.get(this) ?? "";
  }

  toString(): string {
    return "***";
  }

  toJSON(): string {
    return "***";
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `Secret(${this.source})`;
  }
}
