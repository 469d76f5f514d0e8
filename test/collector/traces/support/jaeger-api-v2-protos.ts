/**
 * Jaeger's api_v2 protos (model.proto, collector.proto, sampling.proto) loaded from Jaeger's public IDL module
 * (github.com/jaegertracing/jaeger-idl), fetched through the Go module proxy by `go mod download`, with the modules
 * they import: gogoproto/gogo.proto (github.com/gogo/protobuf, which also carries google/protobuf/*.proto) and
 * google/api/annotations.proto (github.com/gogo/googleapis). Nothing of them is copied into this repository.
 *
 * `loadJaegerApiV2()` resolves to undefined, with the reason, when `go` is missing or the download fails: tests skip
 * with that reason.
 */
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const JAEGER_IDL = 'github.com/jaegertracing/jaeger-idl@v0.6.0';
const GOGO_PROTOBUF = 'github.com/gogo/protobuf@v1.3.2';
const GOGO_GOOGLEAPIS = 'github.com/gogo/googleapis@v1.4.1';

export interface JaegerApiV2 {
  /** `jaeger.api_v2` of the loaded package: CollectorService and SamplingManager client constructors. */
  CollectorService: grpc.ServiceClientConstructor;
  SamplingManager: grpc.ServiceClientConstructor;
  /** The package definition (its message types encode requests for benchmarks). */
  definition: protoLoader.PackageDefinition;
}

let loaded: Promise<JaegerApiV2 | { skip: string }> | undefined;

async function moduleDirs(): Promise<Record<string, string>> {
  const { stdout } = await promisify(execFile)('go', ['mod', 'download', '-json', JAEGER_IDL, GOGO_PROTOBUF, GOGO_GOOGLEAPIS], {
    env: { ...process.env, GOFLAGS: '-mod=mod' },
    maxBuffer: 1 << 20,
    // Outside any Go module: `go mod download` of a module@version needs no go.mod.
    cwd: tmpdir(),
  });
  const dirs: Record<string, string> = {};
  // One JSON object per module, one after another.
  for (const chunk of stdout.split(/\n(?=\{)/)) {
    const m = JSON.parse(chunk) as { Path: string; Version: string; Dir?: string; Error?: string };
    if (m.Error !== undefined || m.Dir === undefined) throw new Error(`go mod download ${m.Path}@${m.Version}: ${m.Error ?? 'no directory'}`);
    dirs[`${m.Path}@${m.Version}`] = m.Dir;
  }
  return dirs;
}

async function load(): Promise<JaegerApiV2 | { skip: string }> {
  let dirs: Record<string, string>;
  try {
    dirs = await moduleDirs();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return { skip: 'the Go toolchain (go) is not installed: Jaeger\'s api_v2 protos are fetched with `go mod download`' };
    return { skip: `Jaeger's api_v2 protos could not be fetched: ${e.message}` };
  }
  const idl = join(dirs[JAEGER_IDL]!, 'proto', 'api_v2');
  const definition = await protoLoader.load(['model.proto', 'collector.proto', 'sampling.proto'], {
    includeDirs: [idl, dirs[GOGO_PROTOBUF]!, join(dirs[GOGO_PROTOBUF]!, 'protobuf'), dirs[GOGO_GOOGLEAPIS]!],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { jaeger: { api_v2: Record<string, grpc.ServiceClientConstructor> } };
  return { CollectorService: pkg.jaeger.api_v2.CollectorService!, SamplingManager: pkg.jaeger.api_v2.SamplingManager!, definition };
}

/** Jaeger's api_v2 protos, loaded once per process. */
export function loadJaegerApiV2(): Promise<JaegerApiV2 | { skip: string }> {
  loaded ??= load();
  return loaded;
}
