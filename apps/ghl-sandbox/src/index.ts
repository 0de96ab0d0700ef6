export { startGhlSandbox, type GhlSandbox } from './ghl-sandbox';
export {
  parseSandboxConfig,
  loadSandboxConfigFromEnv,
  DEFAULT_SCOPES,
  DEMO_LOCATION_ID,
  DEMO_COMPANY_ID,
  DEMO_PROVIDER_ID,
  type SandboxConfig,
  type SandboxConfigInput,
} from './config/sandbox-config.schema';
