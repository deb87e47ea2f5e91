import Docker from 'dockerode';

/** Removes every container a test installation made, whatever state its instances were left in. */
export async function removeContainersOf(installationId: string): Promise<void> {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  const containers = await docker.listContainers({ all: true, filters: { label: [`gale.installation=${installationId}`] } });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
}
