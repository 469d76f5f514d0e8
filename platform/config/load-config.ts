/**
 * `loadConfig(env)`: the only reader of the environment. It validates every section, reports every problem at once
 * (each naming its variable), and returns a frozen, typed configuration.
 */
import { swError } from '../errors.js';
import { collector } from './collector.js';
import { common } from './common.js';
import { ingester } from './ingester.js';
import { pilot } from './pilot.js';
import { query } from './query.js';
import { Problem, type LoadContext, type Program, type Resolved, type Section, type VarSpec } from './schema.js';
import { spanStorage } from './span-storage-config.js';

export const SECTIONS = { common, spanStorage, pilot, collector, query, ingester } as const;

/** Which sections a program reads: a variable of another program's section is neither parsed nor reported. */
const SECTIONS_OF: Record<Program, ReadonlyArray<keyof typeof SECTIONS>> = {
  pilot: ['common', 'pilot'],
  // The collector reads the pilot's section for its log outputs (LOGGING_OUTPUT and theirs), where OTLP logs go.
  collector: ['common', 'spanStorage', 'pilot', 'collector'],
  query: ['common', 'spanStorage', 'query'],
  all: ['common', 'spanStorage', 'pilot', 'collector', 'query'],
  // The ingester reads the pilot's section for its Elasticsearch output's settings (ELASTICSEARCH_*), where log
  // records go with INGESTER_SIGNAL=logs.
  ingester: ['common', 'spanStorage', 'pilot', 'ingester'],
};

export type Config = {
  readonly program: Program;
  readonly common: Resolved<typeof common>;
  readonly spanStorage: Resolved<typeof spanStorage>;
  readonly pilot: Resolved<typeof pilot>;
  readonly collector: Resolved<typeof collector>;
  readonly query: Resolved<typeof query>;
  readonly ingester: Resolved<typeof ingester>;
};

export type Env = Readonly<Record<string, string | undefined>>;

export interface ConfigProblem {
  variable: string;
  reason: string;
}

/** The raw value of a spec: the variable, else its first alias set, else the default. */
export function rawValue(spec: VarSpec<unknown>, env: Env, ctx: LoadContext): { raw: string; from: string } {
  for (const name of [spec.name, ...(spec.aliases ?? [])]) {
    const value = env[name];
    if (value !== undefined && value !== '') return { raw: value, from: name };
  }
  const def = typeof spec.default === 'function' ? spec.default(ctx) : spec.default;
  return { raw: def ?? '', from: spec.name };
}

function loadSection<S extends Section>(section: S, env: Env, ctx: LoadContext, problems: ConfigProblem[]): Resolved<S> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(section)) {
    const { raw, from } = rawValue(spec, env, ctx);
    const value = spec.parse(raw);
    if (value instanceof Problem) problems.push({ variable: from, reason: value.reason });
    else out[key] = value;
  }
  return Object.freeze(out) as Resolved<S>;
}

/**
 * Loads the configuration of `program`. Throws SW_CONFIG_INVALID listing every problem (`problems` on the error)
 * when any variable is wrong.
 */
export function loadConfig(env: Env, program: Program): Config {
  const ctx: LoadContext = { program };
  const problems: ConfigProblem[] = [];
  const wanted = new Set(SECTIONS_OF[program]);
  const resolved: Record<string, unknown> = { program };
  for (const [name, section] of Object.entries(SECTIONS)) {
    // Sections a program does not read still get their defaults, so code can rely on the shape.
    resolved[name] = loadSection(section as Section, wanted.has(name as keyof typeof SECTIONS) ? env : {}, ctx, wanted.has(name as keyof typeof SECTIONS) ? problems : []);
  }
  if (problems.length > 0) {
    const err = swError('SW_CONFIG_INVALID', problems.map((p) => `${p.variable}: ${p.reason}`).join('; '));
    (err as Error & { problems?: ConfigProblem[] }).problems = problems;
    throw err;
  }
  return Object.freeze(resolved) as Config;
}

/** Every variable with its default and meaning, for --help and the README. */
export function describeVariables(): Array<{ section: string; name: string; aliases: string[]; default: string; doc: string }> {
  const rows = [];
  for (const [section, vars] of Object.entries(SECTIONS)) {
    for (const spec of Object.values(vars as Section)) {
      const def = spec.defaultDoc ?? (typeof spec.default === 'string' ? spec.default : '');
      rows.push({ section, name: spec.name, aliases: [...(spec.aliases ?? [])], default: def, doc: spec.doc });
    }
  }
  return rows;
}
