import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiError } from '../http/api-error';
import { parseInput } from '../http/zod-input';
import { LocationReadRepository, type LocationSnapshot } from '../locations/location-read.repository';
import { locationParamsSchema } from '../locations/locations.schemas';
import { QrRenderer } from './qr-renderer';
import { qrQuerySchema } from './qr.schemas';

/**
 * The live QR as an image, rendered from the projection (the owner writes the newest QR there before it
 * publishes the event). PNG by default, SVG with `?format=svg` or `Accept: image/svg+xml`.
 */
@Controller('api/locations/:locationId/whatsapp')
export class QrController {
  constructor(
    private readonly reads: LocationReadRepository,
    private readonly renderer: QrRenderer,
  ) {}

  @Get('qr')
  async qr(@Param() params: unknown, @Query() query: unknown, @Req() req: Request, @Res() res: Response) {
    const { locationId } = parseInput(locationParamsSchema, params, 'path');
    const { format } = parseInput(qrQuerySchema, query, 'query');
    const snapshot = await this.reads.snapshot(locationId);
    const session = snapshot.session;
    if (!session || !session.qrLive || !session.qr || !session.qrExpiresAt) {
      throw ApiError.notFound('no_live_qr', whyNoQr(snapshot));
    }
    const svg = format === 'svg' || (format === undefined && prefersSvg(req.header('accept')));
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-QR-Expires-At', session.qrExpiresAt.toISOString());
    if (svg) {
      res.type('image/svg+xml').send(await this.renderer.svg(session.qr));
    } else {
      res.type('image/png').send(await this.renderer.png(session.qr));
    }
  }
}

function prefersSvg(accept: string | undefined): boolean {
  if (!accept) return false;
  const svgAt = accept.indexOf('image/svg+xml');
  const pngAt = accept.indexOf('image/png');
  return svgAt !== -1 && (pngAt === -1 || svgAt < pngAt);
}

function whyNoQr(s: LocationSnapshot): string {
  if (!s.installation || s.installation.status === 'uninstalled')
    return 'the app is not installed for this location';
  const session = s.session;
  if (!session) return 'the session was never started; POST …/whatsapp/connect to get a QR code';
  switch (session.state) {
    case 'open':
      return 'WhatsApp is already linked and connected; there is nothing to scan';
    case 'qr':
      return 'the last QR code expired; a new one is on its way';
    case 'starting':
    case 'connecting':
    case 'reconnecting':
      return `the session is ${session.state}; a QR code appears if the number has to be linked`;
    case 'stopped':
    case 'logged_out':
    case 'qr_timeout':
    case 'forbidden':
    case 'failed':
      return `the session is ${session.state}; POST …/whatsapp/connect to get a new QR code`;
  }
}
