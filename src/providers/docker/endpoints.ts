import Dockerode from 'dockerode';
import { PermanentProviderError } from '../../domain/provider.js';

/** A Docker endpoint as configured: dockerode options, a unix socket path, or a URL (unix://, tcp://, https://, ssh://). */
export type EndpointConfig = Dockerode.DockerOptions | string;

export interface Endpoint {
  /** Printable and free of secrets, for logs and error messages. */
  readonly name: string;
  readonly docker: Dockerode;
  /** The zones ('*' for the fallback) served by this endpoint, for messages. */
  readonly zones: string[];
}

export function parseEndpoint(config: EndpointConfig): Dockerode.DockerOptions {
  if (typeof config !== 'string') return config;
  if (config.startsWith('/')) return { socketPath: config };
  let url: URL;
  try {
    url = new URL(config);
  } catch {
    throw new Error(`docker endpoint "${config}" is neither a socket path nor a URL`);
  }
  const port = url.port === '' ? undefined : Number(url.port);
  switch (url.protocol) {
    case 'unix:':
      return { socketPath: url.pathname };
    case 'tcp:':
    case 'http:':
      return { host: url.hostname, port: port ?? 2375, protocol: 'http' };
    case 'https:':
      // Certificates cannot ride in a URL: use the object form with ca/cert/key for TLS client auth.
      return { host: url.hostname, port: port ?? 2376, protocol: 'https' };
    case 'ssh:':
      return {
        host: url.hostname,
        port: port ?? 22,
        protocol: 'ssh',
        username: url.username === '' ? undefined : decodeURIComponent(url.username),
        // As the docker CLI does: authenticate with the running ssh agent. docker-modem sets this only when the
        // endpoint came from DOCKER_HOST, so an ssh:// endpoint from the configuration would have no way to log in.
        ...(process.env.SSH_AUTH_SOCK ? { sshOptions: { agent: process.env.SSH_AUTH_SOCK } } : {}),
      };
    default:
      throw new Error(`docker endpoint "${config}": unsupported scheme ${url.protocol} (use unix, tcp, https or ssh)`);
  }
}

/** Names an endpoint without passwords or keys: secrets never reach a log line. */
export function describeEndpoint(options: Dockerode.DockerOptions): string {
  if (options.socketPath !== undefined) return `unix://${options.socketPath}`;
  const protocol = options.protocol ?? 'http';
  const scheme = protocol === 'http' ? 'tcp' : protocol;
  const user = protocol === 'ssh' && options.username ? `${options.username}@` : '';
  const port = options.port === undefined ? '' : `:${options.port}`;
  return `${scheme}://${user}${options.host ?? 'localhost'}${port}`;
}

/**
 * Zones to engines. Several zones may share one engine; each distinct engine gets one client, so that
 * list() and watch() visit it once.
 */
export class EndpointSet {
  private readonly byZone = new Map<string, Endpoint>();
  private readonly distinct = new Map<string, Endpoint>();

  constructor(
    config: Record<string, EndpointConfig>,
    makeClient: (options: Dockerode.DockerOptions) => Dockerode = (options) => new Dockerode(options),
  ) {
    const zones = Object.keys(config);
    if (zones.length === 0) throw new Error('docker provider: no endpoints configured (give at least "*")');
    for (const zone of zones) {
      const options = parseEndpoint(config[zone]!);
      const name = describeEndpoint(options);
      let endpoint = this.distinct.get(name);
      if (!endpoint) {
        endpoint = { name, docker: makeClient(options), zones: [] };
        this.distinct.set(name, endpoint);
      }
      endpoint.zones.push(zone);
      this.byZone.set(zone, endpoint);
    }
  }

  /** The zone's own endpoint, else the '*' fallback. A zone with neither is a configuration error. */
  forZone(zone: string): Endpoint {
    const endpoint = this.byZone.get(zone) ?? this.byZone.get('*');
    if (!endpoint) {
      const known = [...this.byZone.keys()].join(', ');
      throw new PermanentProviderError(`no docker endpoint is configured for zone ${zone} (configured: ${known})`);
    }
    return endpoint;
  }

  byName(name: string): Endpoint | undefined {
    return this.distinct.get(name);
  }

  all(): Endpoint[] {
    return [...this.distinct.values()];
  }
}
