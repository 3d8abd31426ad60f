/**
 * docker-compose.yml and the Dockerfile cannot be run here (no Docker): this test parses them and checks what a
 * typo would otherwise only reveal at `docker compose up` — every service has an image or a build and a health
 * check, the ledger services run an existing service main with only configuration names the ledger knows,
 * start after the stores they need are healthy, and the gateway routes to services that exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@ledger/config';
import t from 'tap';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string };
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;
const dockerfile = read('Dockerfile');
const services = compose.services;

/** The names loadConfig parses (packages/config) and the ones DESIGN §7 lists. */
const configSource = read('packages/config/src/load-config.ts');
const knownVariables = new Set([...configSource.matchAll(/^\s{4}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!));
const DESIGN_7 = [
  'PORT',
  'HOST',
  'LEDGER_DATA_DIR',
  'LEDGER_ADMIN_KEY',
  'LEDGER_CONSISTENCY_WAIT_MS',
  'LEDGER_IDEMPOTENCY_TTL',
  'LEDGER_RATE_LIMIT',
  'LEDGER_STORE',
  'EVENTSTOREDB_URL',
  'KAFKA_BROKERS',
  'LOG_LEVEL',
];

/**
 * Compose's variable substitution for the forms the file uses: `${NAME}`, `${NAME:-default}` (the default when
 * NAME is unset or empty) and `${NAME:?message}` (an error when it is).
 */
function substitute(
  environment: Record<string, string>,
  shell: Record<string, string>,
): Record<string, string> {
  const one = (value: string) =>
    value.replace(
      /\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g,
      (_, name: string, kind?: string, rest?: string) => {
        const set = shell[name];
        if (set !== undefined && set !== '') return set;
        if (kind === '-') return rest!;
        throw new Error(`${name} must be set: ${rest ?? ''}`);
      },
    );
  return Object.fromEntries(Object.entries(environment).map(([name, value]) => [name, one(value)]));
}

/** `${body}`, written so that it is not mistaken for a template placeholder. */
const ref = (body: string) => `\${${body}}`;

t.test('variable substitution as compose does it', async (t) => {
  t.same(substitute({ A: ref('X:-info'), B: ref('Y:?set Y'), C: 'plain' }, { Y: 'y' }), {
    A: 'info',
    B: 'y',
    C: 'plain',
  });
  t.same(substitute({ A: ref('X:-info') }, { X: 'debug' }), { A: 'debug' });
  t.throws(() => substitute({ B: ref('Y:?set Y') }, {}), /Y must be set: set Y/);
  t.throws(() => substitute({ B: ref('Y') }, {}), /Y must be set/);
});

const ledgerServices = Object.entries(services).filter(([, service]) => service.build !== undefined);

t.test('the services of a multi-node ledger', async (t) => {
  t.same(Object.keys(services).sort(), [
    'gateway',
    'ingest-1',
    'ingest-2',
    'kafka',
    'kurrentdb',
    'projector',
    'query-1',
    'query-2',
    'relay',
  ]);
  for (const [name, service] of Object.entries(services)) {
    t.ok(service.image !== undefined || service.build !== undefined, `${name} has an image or a build`);
    t.ok(service.healthcheck?.test, `${name} has a health check`);
  }
  t.match(services.kafka?.image, /^apache\/kafka:/, 'Kafka is the apache/kafka image');
  t.equal(
    services.kafka?.environment?.KAFKA_PROCESS_ROLES,
    'broker,controller',
    'in KRaft mode, no ZooKeeper',
  );
  const kurrentdb = services.kurrentdb!;
  t.match(kurrentdb.image, /^docker\.kurrent\.io\/kurrent-latest\/kurrentdb:25\.1$/, 'KurrentDB 25.1');
  const env = kurrentdb.environment ?? {};
  t.equal(env.KURRENTDB_CLUSTER_SIZE, '1', 'a single node');
  t.equal(env.KURRENTDB_INSECURE, 'true', 'insecure: local use only (README says so)');
  t.equal(env.KURRENTDB_RUN_PROJECTIONS, 'None', 'the ledger needs no server-side projections');
  t.equal(env.KURRENTDB_ENABLE_ATOM_PUB_OVER_HTTP, 'false', 'the ledger speaks gRPC only');
  t.same(
    Object.keys(env).filter((name) => !name.startsWith('KURRENTDB_')),
    [],
    'KurrentDB reads KURRENTDB_* (the EVENTSTORE_* names are the old server’s)',
  );
  t.ok(
    Number(env.KURRENTDB_MAX_APPEND_SIZE) >= 2 * 1024 * 1024,
    'KurrentDB takes the 1 MiB events the API accepts',
  );
  t.ok(
    kurrentdb.ports?.includes(`${env.KURRENTDB_NODE_PORT}:${env.KURRENTDB_NODE_PORT}`),
    'publishes its node port',
  );
  t.match(JSON.stringify(kurrentdb.healthcheck?.test), /\/health\/live/);
});

t.test('the loader knows every name DESIGN §7 lists', async (t) => {
  for (const name of DESIGN_7) t.ok(knownVariables.has(name), `${name} is parsed by loadConfig`);
});

t.test('each ledger service', async (t) => {
  t.same(ledgerServices.map(([name]) => name).sort(), [
    'ingest-1',
    'ingest-2',
    'projector',
    'query-1',
    'query-2',
    'relay',
  ]);
  for (const [name, service] of ledgerServices) {
    t.test(name, async (t) => {
      const [node, main, ...rest] = service.command ?? [];
      t.equal(node, 'node');
      t.same(rest, []);
      const serviceName = /^services\/([a-z]+)\/dist\/main\.js$/.exec(main ?? '')?.[1];
      t.ok(serviceName, `runs a service main (${main})`);
      t.ok(
        existsSync(`${root}services/${serviceName}/src/main.ts`),
        `services/${serviceName}/src/main.ts exists`,
      );
      t.ok(name.startsWith(serviceName!), 'named after what it runs');

      const environment = service.environment ?? {};
      for (const variable of Object.keys(environment)) {
        t.ok(knownVariables.has(variable), `${variable} is a configuration name the ledger parses`);
      }
      t.equal(environment.LEDGER_STORE, 'eventstoredb');
      const esdb = new URL(environment.EVENTSTOREDB_URL!);
      t.equal(esdb.protocol, 'esdb:');
      t.equal(esdb.hostname, 'kurrentdb', 'EVENTSTOREDB_URL names the KurrentDB service');
      t.equal(esdb.port, services.kurrentdb?.environment?.KURRENTDB_NODE_PORT, 'at its node port');
      t.equal(esdb.searchParams.get('tls'), 'false', 'the insecure node speaks plain gRPC');
      // The environment as the service would see it, after compose's substitution from the shell.
      const config = loadConfig(substitute(environment, { LEDGER_ADMIN_KEY: 'k'.repeat(32) }));
      t.equal(config.store, 'eventstoredb', 'loadConfig accepts the environment');
      t.equal(config.eventStoreDbUrl, environment.EVENTSTOREDB_URL);
      t.equal(environment.PORT, '8080');
      t.equal(environment.HOST, '0.0.0.0', 'reachable from the other containers');
      t.equal(environment.LEDGER_DATA_DIR, '/data');
      t.ok(service.volumes?.includes('ledger-data:/data'), 'the shared data volume');
      t.equal(
        service.depends_on?.kurrentdb?.condition,
        'service_healthy',
        'starts once KurrentDB is healthy',
      );
      t.match(JSON.stringify(service.healthcheck?.test), /\/health/);
    });
  }
  const relay = services.relay!;
  t.equal(relay.depends_on?.kafka?.condition, 'service_healthy', 'the relay waits for Kafka');
  const brokers = relay.environment?.KAFKA_BROKERS?.split(',') ?? [];
  t.ok(
    brokers.length > 0 && brokers.every((broker) => services[broker.split(':')[0]!]),
    'KAFKA_BROKERS names compose services',
  );
});

t.test('named volumes are declared', async (t) => {
  for (const [name, service] of Object.entries(services)) {
    for (const volume of service.volumes ?? []) {
      const source = volume.split(':')[0]!;
      if (source.startsWith('.') || source.startsWith('/')) {
        t.ok(existsSync(`${root}${source.replace(/^\.\//, '')}`), `${name}: ${source} exists`);
      } else t.ok(compose.volumes && source in compose.volumes, `${name}: volume ${source} is declared`);
    }
  }
});

t.test('the gateway publishes the API and routes to existing services', async (t) => {
  const gateway = services.gateway!;
  t.ok(
    gateway.ports?.some((port) => port.endsWith(':8080')),
    'publishes port 8080',
  );
  for (const upstream of ['ingest-1', 'ingest-2', 'query-1', 'query-2']) {
    t.equal(gateway.depends_on?.[upstream]?.condition, 'service_healthy', `waits for ${upstream}`);
  }
  const caddyfile = read('infra/caddy/Caddyfile');
  for (const [, host] of caddyfile.matchAll(/\b([a-z][a-z0-9-]*):8080\b/g)) {
    t.ok(services[host!]?.build, `the Caddyfile routes to the ledger service ${host}`);
  }
  t.match(caddyfile, /method POST PUT PATCH DELETE/, 'writes go to ingest');
  t.match(caddyfile, /@admin path \/v1\/admin\/\*/, 'the admin API goes to ingest, which owns it');
});

t.test('the Dockerfile builds one image for every service', async (t) => {
  t.match(dockerfile, /^FROM node:20[^\s]* AS build$/m, 'a node:20 build stage');
  t.match(dockerfile, /^RUN npm ci$/m);
  t.match(dockerfile, /^RUN npx tsc -b$/m, 'compiles every workspace (services/*/dist/main.js)');
  t.match(dockerfile, /^RUN npm prune --omit=dev$/m);
  const stages = dockerfile.match(/^FROM /gm) ?? [];
  t.ok(stages.length >= 2, 'multi-stage');
  t.match(
    dockerfile,
    /^COPY --from=build .* \/app\/services \.\/services$/m,
    'the built services are in the image',
  );
  t.match(dockerfile, /^USER node$/m, 'runs as the unprivileged node user');
  t.match(dockerfile, /^CMD \["sh", "-c", "exec node services\/\$\{SERVICE\}\/dist\/main\.js"\]$/m);
  t.ok(existsSync(`${root}.dockerignore`), 'a .dockerignore keeps node_modules and dist out of the context');
  t.match(read('.dockerignore'), /^node_modules$/m);
});
