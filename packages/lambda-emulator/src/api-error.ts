/** An error answer in Lambda's REST shape: status, `x-amzn-errortype`, `{Type, message}`. */
export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly errorClass: 'User' | 'Service';
  readonly extra: Record<string, unknown>;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    status: number,
    type: string,
    message: string,
    extra: Record<string, unknown> = {},
    retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = type;
    this.errorClass = status >= 500 ? 'Service' : 'User';
    this.extra = extra;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  body(): Record<string, unknown> {
    return { Type: this.errorClass, message: this.message, ...this.extra };
  }
}

export const notFound = (what: string): ApiError =>
  new ApiError(404, 'ResourceNotFoundException', `Function not found: ${what}`);

export const invalidParameter = (message: string): ApiError =>
  new ApiError(400, 'InvalidParameterValueException', message);

export const validation = (message: string): ApiError =>
  new ApiError(400, 'ValidationException', message);
