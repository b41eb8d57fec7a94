/** A syntax error in one of our small languages (rule conditions, panel queries), with where it stands in the text. */
export class PositionedSyntaxError extends Error {
  constructor(
    readonly reason: string,
    /** 0-based index into the text. */
    readonly position: number,
  ) {
    super(`${reason} at position ${position + 1}`);
    this.name = new.target.name;
  }
}
