export * from './admin-api.types';
export * from './ghl-sandbox-admin.client';
export * from './ghl-api.client';
export * from './sso-user-context';
export * from './webhook-recorder';
export * from './webhook-signature';
