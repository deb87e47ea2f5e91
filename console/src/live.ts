import type { Gale, Instance, StreamMessage } from '@gale/client';
import { useEffect, useRef, useState } from 'preact/hooks';

/*
 * The caller's instances, kept live by the event stream (GET /events): no polling. The stream is opened before the
 * list is read, and a status that an event brought after the list was asked for wins over the list's.
 */

export interface LiveInstances {
  instances: Instance[];
  loaded: boolean;
  error: unknown;
  /** Shows an instance at once (the answer of a create), before its first event arrives. */
  upsert(instance: Instance): void;
  remove(id: string): void;
}

type Listener = (message: StreamMessage) => void;

/** One stream per page, shared by whoever listens (the table, the quotas, the details). */
export function useEvents(gale: Gale, listener: Listener, deps: unknown[] = []): void {
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => {
    const controller = new AbortController();
    void (async () => {
      try {
        for await (const message of gale.events({ types: ['instance.status', 'instance.deleted', 'operation'], signal: controller.signal })) {
          latest.current(message);
        }
      } catch (error) {
        if (!controller.signal.aborted) console.warn('event stream ended', error);
      }
    })();
    return () => controller.abort();
  }, [gale, ...deps]);
}

export function useLiveInstances(gale: Gale): LiveInstances {
  // The map is the truth, kept in a ref so that event handlers read it as it is now; the counter re-renders.
  const byId = useRef(new Map<string, Instance>());
  const [, setVersion] = useState(0);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const touched = useRef(new Map<string, number>());
  const deleted = useRef(new Set<string>());

  const update = (fn: (map: Map<string, Instance>) => void) => {
    fn(byId.current);
    setVersion((v) => v + 1);
  };

  const reload = async () => {
    const asked = Date.now();
    try {
      const list = await gale.instances.list();
      update((map) => {
        const listed = new Set(list.map((i) => i.id));
        for (const id of [...map.keys()]) if (!listed.has(id) && (touched.current.get(id) ?? 0) < asked) map.delete(id);
        for (const instance of list) {
          if (deleted.current.has(instance.id)) continue;
          if ((touched.current.get(instance.id) ?? 0) > asked && map.has(instance.id)) continue;
          map.set(instance.id, instance);
        }
      });
      setError(undefined);
    } catch (e) {
      setError(e);
    } finally {
      setLoaded(true);
    }
  };

  useEvents(gale, (message) => {
    if (message.type === 'stream.gap') {
      void reload();
      return;
    }
    const id = message.instanceId;
    touched.current.set(id, Date.now());
    if (message.type === 'instance.deleted') {
      deleted.current.add(id);
      update((map) => map.delete(id));
    } else if (message.type === 'instance.status') {
      const data = message.data as { status: Instance['status']; internalIp: string; externalIp: string };
      const instance = byId.current.get(id);
      if (instance) {
        update((map) => map.set(id, { ...instance, status: data.status, internalIp: data.internalIp, externalIp: data.externalIp }));
      } else if (!deleted.current.has(id)) {
        // Made elsewhere (another tab, the CLI): read it whole once.
        gale.instances.get(id).then(
          (instance) => !deleted.current.has(id) && update((map) => map.set(id, instance)),
          () => undefined,
        );
      }
    }
  });

  useEffect(() => {
    void reload();
  }, [gale]);

  const instances = [...byId.current.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return {
    instances,
    loaded,
    error,
    upsert: (instance) => {
      touched.current.set(instance.id, Date.now());
      update((map) => {
        const existing = map.get(instance.id);
        // An event may already have moved it past the create's PROVISIONING.
        map.set(instance.id, existing ? { ...instance, status: existing.status, internalIp: existing.internalIp, externalIp: existing.externalIp } : instance);
      });
    },
    remove: (id) => {
      deleted.current.add(id);
      update((map) => map.delete(id));
    },
  };
}
