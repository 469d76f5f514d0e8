/** `--name value` options of a bench's command line. */
export function benchArgs(argv: readonly string[] = process.argv.slice(2)): { value(name: string, def: string): string; has(flag: string): boolean } {
  return {
    value(name, def) {
      const i = argv.indexOf(`--${name}`);
      return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : def;
    },
    has: (flag) => argv.includes(`--${flag}`),
  };
}
