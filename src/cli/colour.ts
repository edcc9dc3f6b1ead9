/** ANSI colours, only on a terminal and never when NO_COLOR is set (no-color.org). */
const CODES = { red: 31, green: 32, cyan: 36, dim: 2 } as const;

export function colourEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  return stream.isTTY === true && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '');
}

export function paint(colour: keyof typeof CODES, text: string): string {
  return colourEnabled() ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text;
}
