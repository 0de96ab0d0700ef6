import { Injectable } from '@nestjs/common';
import { toBuffer, toString } from 'qrcode';

// WhatsApp's QR strings are ~240 characters; error correction L keeps the symbol small enough to scan
// from a phone held at arm's length, and a 4-module quiet zone is what scanners expect.
const OPTIONS = { errorCorrectionLevel: 'L', margin: 4 } as const;

/** The `qrcode` package behind one adapter: a QR string in, an SVG or a PNG out. */
@Injectable()
export class QrRenderer {
  svg(text: string): Promise<string> {
    return toString(text, { ...OPTIONS, type: 'svg', color: { dark: '#000000', light: '#ffffff' } });
  }

  png(text: string, widthPx = 320): Promise<Buffer> {
    return toBuffer(text, { ...OPTIONS, type: 'png', width: widthPx });
  }
}
