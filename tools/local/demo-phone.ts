/**
 * The demo's simulated phone: scans the QR the dashboard shows for the demo location, through the
 * WhatsApp sandbox's admin API. `npm start` calls it when Enter is pressed; in the docker-compose demo it
 * runs as `docker compose run --rm demo-phone`.
 */
import { WaSandboxAdminClient } from '@app/wa-sandbox-client';
import { Client } from 'pg';

/** Seeded by the GHL sandbox (SEED_DEMO) and installed through the product's OAuth flow. */
export const DEMO_LOCATION = 'demoLocation0001';
export const DEMO_PHONE = '15550000001';
const WA_DEV_ADMIN_TOKEN = 'wa-sandbox-dev-token';

export interface DemoPhoneOptions {
  databaseUrl: string;
  waAdminUrl: string;
  waAdminToken?: string;
}

/** Scans the demo location's live QR; returns one line saying what happened (never throws). */
export async function scanDemoQr(options: DemoPhoneOptions): Promise<string> {
  const db = new Client({ connectionString: options.databaseUrl });
  try {
    await db.connect();
    const rows = await db.query<{ qr: string }>(
      `SELECT qr FROM sessions WHERE location_id = $1 AND state = 'qr' AND qr_expires_at > now()`,
      [DEMO_LOCATION],
    );
    const qr = rows.rows[0]?.qr;
    if (!qr) {
      return 'no QR is showing right now: press Connect in the dashboard first (or wait for the next code)';
    }
    const admin = new WaSandboxAdminClient({
      baseUrl: options.waAdminUrl,
      token: options.waAdminToken ?? WA_DEV_ADMIN_TOKEN,
    });
    const paired = await admin.scanQr({ qr, phone: DEMO_PHONE, name: 'Demo phone' });
    return `the simulated phone +${paired.phone} scanned the QR; the dashboard turns connected in a moment`;
  } catch (error) {
    return `scan failed: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    await db.end().catch(() => undefined);
  }
}

if (require.main === module) {
  const { DATABASE_URL, WA_SANDBOX_ADMIN_URL, WA_SANDBOX_ADMIN_TOKEN } = process.env;
  if (!DATABASE_URL || !WA_SANDBOX_ADMIN_URL) {
    process.stderr.write('demo-phone: set DATABASE_URL and WA_SANDBOX_ADMIN_URL\n');
    process.exit(2);
  }
  void scanDemoQr({
    databaseUrl: DATABASE_URL,
    waAdminUrl: WA_SANDBOX_ADMIN_URL,
    waAdminToken: WA_SANDBOX_ADMIN_TOKEN,
  }).then((line) => {
    process.stdout.write(`${line}\n`);
    process.exitCode = line.startsWith('the simulated phone') ? 0 : 1;
  });
}
