/**
 * Checks on paths that end up in the bundle, and the decoding of zip entry names.
 */

/**
 * Why a path may not be written into the bundle, or `null` when it may. A safe path is relative,
 * '/'-separated and normalised. `allowTrailingSlash` admits a directory entry's name ("pkg/").
 */
export function unsafePathReason(path: string, allowTrailingSlash = false): string | null {
  if (path.length === 0) return 'its path is empty';
  if (path.includes('\0')) return 'its path contains a NUL character';
  if (path.includes('\\')) return 'its path contains a backslash';
  if (path.startsWith('/')) return 'it is an absolute path';
  if (/^[A-Za-z]:/.test(path)) return 'its path starts with a drive letter';
  const body = allowTrailingSlash && path.endsWith('/') ? path.slice(0, -1) : path;
  const segments = body.split('/');
  if (segments.includes('..')) return 'its path escapes the bundle root';
  if (segments.some((segment) => segment === '' || segment === '.')) {
    return 'its path is not normalised (an empty or "." segment)';
  }
  return null;
}

// The upper half of code page 437, which the zip format prescribes for names without the UTF-8
// flag (general-purpose bit 11). Python's zipfile, and so pip, decodes such names the same way.
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

/** Decodes a raw zip entry name as an installer does: UTF-8 when bit 11 is set, else CP437. */
export function decodeEntryName(raw: Buffer, generalPurposeBitFlag: number): string {
  if ((generalPurposeBitFlag & 0x800) !== 0) return raw.toString('utf8');
  let ascii = true;
  for (const byte of raw) {
    if (byte >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return raw.toString('latin1');
  let out = '';
  for (const byte of raw)
    out += byte < 0x80 ? String.fromCharCode(byte) : (CP437_HIGH[byte - 0x80] ?? '');
  return out;
}
