import pc from 'picocolors';

export type Colors = Pick<
  typeof pc,
  'red' | 'green' | 'yellow' | 'cyan' | 'dim' | 'bold' | 'magenta'
>;

/** Colour only for a terminal that wants it (NO_COLOR / FORCE_COLOR are honoured by picocolors). */
export function colorsFor(stream: NodeJS.WriteStream): Colors {
  return pc.createColors(stream.isTTY && pc.isColorSupported);
}
