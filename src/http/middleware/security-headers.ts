/**
 * Security headers (helmet). The Content-Security-Policy suits an API and a self-contained console at
 * /console/ serving its own scripts, styles and images: everything from this origin only, no inline
 * script, no framing, no plugins. `upgrade-insecure-requests` is left out: the default setup is plain
 * HTTP on loopback, where it would break the console's own assets (put TLS in front for remote use;
 * docs/security.md).
 */
import helmet from 'helmet';
import type { RequestHandler } from 'express';

export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        imgSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
      },
    },
    // No cross-origin reads of our answers (they carry PHI).
    crossOriginResourcePolicy: { policy: 'same-origin' },
    referrerPolicy: { policy: 'no-referrer' },
  });
}
