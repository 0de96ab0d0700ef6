import type { SandboxSettings } from '@app/wa-sandbox-client';

/** Live settings every service reads; the admin API can change them at run time. */
export class SettingsHolder {
  constructor(private value: SandboxSettings) {}

  get current(): SandboxSettings {
    return this.value;
  }

  update(patch: Partial<SandboxSettings>): SandboxSettings {
    this.value = {
      ...this.value,
      ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)),
    };
    return this.value;
  }
}
