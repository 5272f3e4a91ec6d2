/**
 * A Bot API failure, thrown by method handlers and turned into the real wire shape
 * `{ok:false,error_code,description,parameters?}` with the same HTTP status.
 */
export interface ResponseParameters {
  retry_after?: number;
  migrate_to_chat_id?: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
    readonly parameters?: ResponseParameters,
  ) {
    super(description);
    this.name = 'ApiError';
  }

  toJSON(): { ok: false; error_code: number; description: string; parameters?: ResponseParameters } {
    return this.parameters
      ? { ok: false, error_code: this.code, description: this.description, parameters: this.parameters }
      : { ok: false, error_code: this.code, description: this.description };
  }
}

export const badRequest = (what: string): ApiError => new ApiError(400, `Bad Request: ${what}`);

export const tooManyRequests = (retryAfter: number): ApiError =>
  new ApiError(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter });

/** Exact texts of the real server, in one place so tests and handlers agree. */
export const ERR = {
  messageTooLong: 'message is too long',
  messageEmpty: 'message text is empty',
  buttonDataInvalid: 'BUTTON_DATA_INVALID',
  queryTooOld: 'query is too old and response timeout expired or query ID is invalid',
  notModified:
    'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
  editNotFound: 'message to edit not found',
  deleteNotFound: 'message to delete not found',
  chatNotFound: 'chat not found',
  cantParseEntities: "can't parse entities",
} as const;
