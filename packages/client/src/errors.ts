/** What a subscription reports through `onError`: a refusal a retry will not cure, with the service's error code. */
export class ClientError extends Error {
  constructor(
    /** The service's error code (`unknown_channel`, `unauthorized`, ...), or `closed` / `network` from the client. */
    readonly code: string,
    message: string,
    /** The HTTP status of the refusal, when there was one. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}
