/**
 * Loads the configuration once at start: embedded defaults, then the YAML file, then `.env`, then the environment.
 * Any invalid value stops start-up with one ConfigError naming every bad key, its value, and what was expected.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { load } from 'js-yaml';
import { configSchema, type AppConfig } from './config.schema';
import { envBindings, parseEnvValue } from './config.env';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Overrides applied after the environment (tests use them); same shape as the YAML file. */
  overrides?: DeepPartial<AppConfig>;
  /** Read `.env` from the working directory (default true when env is process.env). */
  dotenv?: boolean;
}

export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

type Tree = Record<string, unknown>;

/** Keys whose values never appear in an error message (or anywhere in the logs). */
const SECRET_KEYS = new Set(['auth.api_keys', 'auth.token_secret']);

const isTree = (value: unknown): value is Tree => typeof value === 'object' && value !== null && !Array.isArray(value);

function merge(base: Tree, patch: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    out[key] = isTree(value) && isTree(out[key]) ? merge(out[key], value) : value;
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function readYaml(path: string, required: boolean): Tree {
  if (!existsSync(path)) {
    if (required) throw new ConfigError([`DATA_STREAMING_CONFIG=${path}: file not found`]);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = load(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError([`${path}: not valid YAML (${(error as Error).message.split('\n')[0]})`]);
  }
  if (parsed === undefined || parsed === null) return {};
  if (!isTree(parsed)) throw new ConfigError([`${path}: expected a mapping of sections at the top level`]);
  return parsed;
}

function readDotenv(path: string): NodeJS.ProcessEnv {
  if (!existsSync(path)) return {};
  const env: NodeJS.ProcessEnv = {};
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith('#')) continue;
    const [, key = '', rawValue = ''] = match;
    env[key] = rawValue.replace(/^(['"])(.*)\1$/, '$2');
  }
  return env;
}

export function loadConfig(options: LoadOptions = {}): AppConfig {
  const processEnv = options.env ?? process.env;
  const useDotenv = options.dotenv ?? options.env === undefined;
  // Variables already set in the environment win over .env, as with dotenv.
  const env = { ...(useDotenv ? readDotenv(resolve('.env')) : {}), ...processEnv };

  const explicitPath = env.DATA_STREAMING_CONFIG;
  const yamlPath = resolve(explicitPath ?? 'config/data-streaming-api.yaml');
  let tree = readYaml(yamlPath, explicitPath !== undefined);
  const yamlLoaded = existsSync(yamlPath);

  const defaults = configSchema.parse({});
  const problems: string[] = [];
  const fromEnv = new Map<string, string>();
  for (const binding of envBindings(defaults)) {
    const raw = env[binding.variable];
    if (raw === undefined || raw === '') continue;
    const parsed = parseEnvValue(binding.kind, raw);
    const key = binding.path.join('.');
    if ('error' in parsed) {
      problems.push(`${key} = ${JSON.stringify(raw)} (from ${binding.variable}): ${parsed.error}`);
      continue;
    }
    fromEnv.set(key, binding.variable);
    tree = merge(tree, { [binding.path[0]]: { [binding.path[1]]: parsed.value } });
  }
  if (options.overrides) tree = merge(tree, options.overrides);
  // SPEC: listen on all interfaces in production, loopback otherwise, unless a host is configured.
  const production = env.NODE_ENV === 'production';
  tree = merge({ service: { host: production ? '0.0.0.0' : '127.0.0.1' } }, tree);
  if (problems.length > 0) throw new ConfigError(problems);

  const result = configSchema.safeParse(tree);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const key = issue.path.join('.');
        const [section, field] = issue.path;
        const value = issue.path.reduce<unknown>(
          (node, part) => (isTree(node) || Array.isArray(node) ? (node as Tree)[part as string] : undefined),
          tree,
        );
        if (value === undefined) return `${key || '(root)'}: ${issue.message}`;
        const source = fromEnv.get(`${String(section)}.${String(field)}`) ?? (yamlLoaded ? yamlPath : 'overrides');
        const shown = SECRET_KEYS.has(`${String(section)}.${String(field)}`) ? '(secret, not shown)' : JSON.stringify(value);
        return `${key || '(root)'} = ${shown} (from ${source}): ${issue.message}`;
      }),
    );
  }
  return deepFreeze(result.data);
}
