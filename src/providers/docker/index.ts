export { createDockerProvider, type DockerProvider, type DockerProviderOptions } from './provider.js';
export { buildBusyboxImage, BUSYBOX_IMAGE_TAG, GRACEFUL_CMD, type BuildBusyboxImageOptions } from './images.js';
export { DockerUnavailableError } from './errors.js';
export { LABELS, containerName } from './observe.js';
export { parseEndpoint, describeEndpoint, type EndpointConfig } from './endpoints.js';
