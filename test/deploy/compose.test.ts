/**
 * docker-compose.yml and the Dockerfile cannot be run here (no Docker): this test parses them and checks what a
 * typo would otherwise only reveal at `docker compose up` — every service has an image or a build and a health
 * check, the ledger services run an existing service main with an environment `loadConfig` accepts, start after
 * the stores they need are healthy, each query node reads a volume that one projector of its own feeds, ingest
 * nodes keep nothing on a volume, and the gateway routes to services that exist at the ports they listen on.
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
  tmpfs?: string[];
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

/** The ledger service a container runs (`ingest`, `query`, …), read from its command. */
function roleOf(service: Service | undefined): string | undefined {
  return /^services\/([a-z]+)\/dist\/main\.js$/.exec(service?.command?.[1] ?? '')?.[1];
}

const isBindMount = (source: string) => source.startsWith('.') || source.startsWith('/');

/** The named volumes a service mounts (bind mounts of repository files aside). */
function namedVolumes(service: Service): string[] {
  return (service.volumes ?? [])
    .map((volume) => volume.split(':')[0]!)
    .filter((source) => !isBindMount(source));
}

/** What is mounted at `target`: `source:target[:mode]` volume entries and `tmpfs` paths. */
function mountsAt(service: Service, target: string): string[] {
  return [
    ...(service.volumes ?? []).filter((volume) => volume.split(':')[1] === target),
    ...(service.tmpfs ?? []).filter((path) => path.split(':')[0] === target).map((path) => `tmpfs ${path}`),
  ];
}

/** The named volume mounted at a service's `LEDGER_DATA_DIR`, if one is. */
function dataVolume(service: Service | undefined): string | undefined {
  const entry = (service?.volumes ?? []).find(
    (volume) => volume.split(':')[1] === service?.environment?.LEDGER_DATA_DIR,
  );
  const source = entry?.split(':')[0];
  return source === undefined || isBindMount(source) ? undefined : source;
}

/** `host:container` of a `ports` entry, after compose's `${…}` substitution with nothing set. */
function publishedPort(entry: string): { host: string; container: string } {
  const [host, container] = substitute({ entry }, {}).entry!.split(':');
  return { host: host!, container: container! };
}

t.test('the services of a multi-node ledger', async (t) => {
  t.same(Object.keys(services).sort(), [
    'gateway',
    'ingest-1',
    'ingest-2',
    'kafka',
    'kurrentdb',
    'projector-1',
    'projector-2',
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
    'projector-1',
    'projector-2',
    'query-1',
    'query-2',
    'relay',
  ]);
  for (const [name, service] of ledgerServices) {
    t.test(name, async (t) => {
      const [node, main, ...rest] = service.command ?? [];
      t.equal(node, 'node');
      t.same(rest, []);
      const serviceName = roleOf(service);
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
      t.equal(
        mountsAt(service, '/data').length,
        1,
        'one volume or tmpfs at the data dir, never an anonymous volume (the image declares VOLUME /data)',
      );
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
      if (isBindMount(source)) {
        t.ok(existsSync(`${root}${source.replace(/^\.\//, '')}`), `${name}: ${source} exists`);
      } else t.ok(compose.volumes && source in compose.volumes, `${name}: volume ${source} is declared`);
    }
  }
});

t.test('each query node reads a read model of its own', async (t) => {
  // Which ledger services mount each named volume.
  const holders = new Map<string, string[]>();
  for (const [name, service] of ledgerServices) {
    for (const volume of namedVolumes(service)) holders.set(volume, [...(holders.get(volume) ?? []), name]);
  }
  const withRole = (role: string) => ledgerServices.filter(([, service]) => roleOf(service) === role);

  const queries = withRole('query');
  t.ok(queries.length >= 2, 'several query nodes');
  for (const [name, service] of queries) {
    t.test(name, async (t) => {
      const volume = dataVolume(service);
      t.ok(volume, 'keeps read.db on a named volume at its data dir');
      const sharing = holders.get(volume!) ?? [];
      const projectors = sharing.filter((other) => roleOf(services[other]) === 'projector');
      t.equal(projectors.length, 1, `shares ${volume} with exactly one projector`);
      t.same(
        sharing.filter((other) => roleOf(services[other]) === 'query'),
        [name],
        `shares ${volume} with no other query node`,
      );
      t.same(sharing.sort(), [name, ...projectors].sort(), `no other service mounts ${volume}`);
      const projector = projectors[0]!;
      t.equal(dataVolume(services[projector]), volume, `${projector} folds into ${volume} at its data dir`);
      t.ok(service.depends_on?.[projector], `starts with ${projector}`);
    });
  }
  for (const [name, service] of withRole('projector')) {
    const sharing = holders.get(dataVolume(service) ?? '') ?? [];
    t.equal(
      sharing.filter((other) => roleOf(services[other]) === 'query').length,
      1,
      `${name} feeds exactly one query node`,
    );
  }
  for (const [name, service] of withRole('ingest')) {
    t.same(namedVolumes(service), [], `${name} mounts no volume: it keeps nothing durable`);
    t.same(service.tmpfs, [service.environment?.LEDGER_DATA_DIR], `${name}'s data dir is a tmpfs`);
  }
  const relay = dataVolume(services.relay);
  t.ok(relay, 'the relay keeps relay.db on a named volume');
  t.same(holders.get(relay!), ['relay'], 'of its own');
});

t.test('dependencies line up', async (t) => {
  for (const [name, service] of Object.entries(services)) {
    for (const [target, { condition }] of Object.entries(service.depends_on ?? {})) {
      t.ok(services[target], `${name} depends on ${target}, which exists`);
      t.ok(['service_started', 'service_healthy'].includes(condition), `${name} → ${target}: ${condition}`);
      if (condition === 'service_healthy') {
        t.ok(services[target]?.healthcheck, `${name} waits for ${target} to be healthy, which it can become`);
      }
    }
  }
  // Compose refuses a cycle; find one here first.
  const visiting = new Set<string>();
  const done = new Set<string>();
  const cycleFrom = (name: string): string | undefined => {
    if (done.has(name)) return undefined;
    if (visiting.has(name)) return name;
    visiting.add(name);
    for (const target of Object.keys(services[name]?.depends_on ?? {})) {
      const cycle = cycleFrom(target);
      if (cycle !== undefined) return cycle;
    }
    visiting.delete(name);
    done.add(name);
    return undefined;
  };
  for (const name of Object.keys(services)) t.equal(cycleFrom(name), undefined, `no cycle through ${name}`);
});

t.test('ports line up', async (t) => {
  const published = Object.values(services).flatMap((service) => (service.ports ?? []).map(publishedPort));
  const hostPorts = published.map(({ host }) => host);
  t.same(hostPorts, [...new Set(hostPorts)], 'no host port is published twice');
  for (const [name, service] of ledgerServices) {
    t.same(service.ports ?? [], [], `${name} publishes nothing: it is reached through the gateway`);
    t.match(
      JSON.stringify(service.healthcheck?.test),
      new RegExp(`127\\.0\\.0\\.1:${service.environment?.PORT}/health`),
      `${name}'s health check asks the port it listens on`,
    );
  }
  const caddyfile = read('infra/caddy/Caddyfile');
  const listen = /^:(\d+) \{$/m.exec(caddyfile)?.[1];
  t.ok(
    services.gateway?.ports?.map(publishedPort).some(({ container }) => container === listen),
    `the gateway publishes the port Caddy listens on (${listen})`,
  );
  for (const [, host, port] of caddyfile.matchAll(/\b([a-z][a-z0-9-]*):(\d+)\b/g)) {
    t.equal(services[host!]?.environment?.PORT, port, `${host} listens on ${port}, where Caddy sends it`);
  }
});

t.test('the gateway publishes the API and routes to existing services', async (t) => {
  const gateway = services.gateway!;
  const caddyfile = read('infra/caddy/Caddyfile');
  // The three pools in order: /v1/admin/*, writes, everything else.
  const pools = [...caddyfile.matchAll(/reverse_proxy ([^{\n]+)\{/g)].map(([, hosts]) =>
    hosts!
      .trim()
      .split(/\s+/)
      .map((host) => host.split(':')[0]!),
  );
  t.equal(pools.length, 3, 'admin, write and read pools');
  const [admin = [], writes = [], reads = []] = pools;
  const ofRole = (role: string) =>
    ledgerServices
      .filter(([, service]) => roleOf(service) === role)
      .map(([name]) => name)
      .sort();
  t.same([...admin].sort(), ofRole('ingest'), 'the admin API goes to every ingest node, which owns it');
  t.same([...writes].sort(), ofRole('ingest'), 'writes go to every ingest node');
  t.same([...reads].sort(), ofRole('query'), 'reads go to every query node');
  for (const upstream of new Set(pools.flat())) {
    t.ok(services[upstream]?.build, `the Caddyfile routes to the ledger service ${upstream}`);
    t.equal(
      gateway.depends_on?.[upstream]?.condition,
      'service_healthy',
      `the gateway waits for ${upstream}`,
    );
  }
  t.match(caddyfile, /method POST PUT PATCH DELETE/, 'writes go to ingest');
  t.match(caddyfile, /@admin path \/v1\/admin\/\*/, 'the admin API is matched by path');
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
