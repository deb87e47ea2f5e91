import { invalidRequest, notFound } from './errors.js';

export interface MachineType {
  name: string;
  vcpus: number;
  memoryMb: number;
}

export interface Template {
  id: string;
  name: string;
  description: string;
  machineType: string;
  diskSizeGb: number;
  diskType: string;
  image: string;
  region: string;
  /** Provider-specific image per provider name, e.g. { docker: "ubuntu:22.04" }. Never shown to API users. */
  providerImages: Record<string, string>;
}

export interface Region {
  name: string;
  zones: string[];
}

export interface Catalog {
  regions: Region[];
  machineTypes: MachineType[];
  templates: Template[];
}

/** What an instance is made of, resolved once at create time and stored with it. */
export interface Placement {
  template: Template;
  zone: string;
  machineType: MachineType;
}

/** Indexed, read-only view of a validated catalog. */
export class CatalogIndex {
  private readonly templates = new Map<string, Template>();
  private readonly machineTypes = new Map<string, MachineType>();
  private readonly zoneToRegion = new Map<string, string>();
  private readonly regions = new Map<string, Region>();

  constructor(readonly catalog: Catalog) {
    for (const m of catalog.machineTypes) this.machineTypes.set(m.name, m);
    for (const r of catalog.regions) {
      this.regions.set(r.name, r);
      for (const z of r.zones) this.zoneToRegion.set(z, r.name);
    }
    for (const t of catalog.templates) {
      if (!this.machineTypes.has(t.machineType)) {
        throw new Error(`catalog: template ${t.id} names unknown machine type ${t.machineType}`);
      }
      if (!this.regions.has(t.region)) throw new Error(`catalog: template ${t.id} names unknown region ${t.region}`);
      this.templates.set(t.id, t);
    }
  }

  listTemplates(): Template[] {
    return this.catalog.templates;
  }

  template(id: string): Template | undefined {
    return this.templates.get(id);
  }

  machineType(name: string): MachineType | undefined {
    return this.machineTypes.get(name);
  }

  zonesOf(template: Template): string[] {
    return this.regions.get(template.region)?.zones ?? [];
  }

  /** Resolves a create request to a placement, or throws the error a user can act on. */
  place(templateId: string, zone: string | undefined): Placement {
    const template = this.templates.get(templateId);
    if (!template) throw notFound(`template ${templateId} not found`);
    const region = this.regions.get(template.region);
    const chosenZone = zone ?? region?.zones[0] ?? `${template.region}-a`;
    const zoneRegion = this.zoneToRegion.get(chosenZone);
    if (zoneRegion === undefined) throw invalidRequest(`unknown zone ${chosenZone}`);
    if (zoneRegion !== template.region) {
      throw invalidRequest(
        `zone ${chosenZone} is not in region ${template.region} of template ${template.id}; use one of: ${this.zonesOf(template).join(', ')}`,
      );
    }
    const machineType = this.machineTypes.get(template.machineType);
    if (!machineType) throw new Error(`catalog: machine type ${template.machineType} vanished`);
    return { template, zone: chosenZone, machineType };
  }
}

/** The zonal machine type path GCE uses and the spec shows: zones/us-central1-a/machineTypes/n1-standard-2. */
export function machineTypePath(zone: string, machineType: string): string {
  return `zones/${zone}/machineTypes/${machineType}`;
}
