/** One dependency's state for /readyz: ok, or why not, in words. */
export interface Check {
  ok: boolean;
  detail: string;
}

/**
 * What /readyz reports: every registered dependency (the component link, the bot, the
 * database, leadership) must be ok for the daemon to be ready; the body names each.
 */
export class Health {
  readonly #checks = new Map<string, () => Check | Promise<Check>>();

  register(name: string, check: () => Check | Promise<Check>): void {
    this.#checks.set(name, check);
  }

  /** Forgets every check (a term of an active/standby instance is over). */
  clear(): void {
    this.#checks.clear();
  }

  async status(): Promise<{ ready: boolean; checks: Record<string, Check> }> {
    const entries = await Promise.all(
      [...this.#checks].map(async ([name, check]) => [name, await check()] as const),
    );
    return {
      ready: entries.every(([, check]) => check.ok),
      checks: Object.fromEntries(entries),
    };
  }
}
