/** Stable codes for host-link failures that are errors (bad configuration, misuse), not outcomes. */
export type HostErrorCode = 'bad_config' | 'link_closed' | 'frame_too_large' | 'bad_frame' | 'sign_on_failed';

export class HostLinkError extends Error {
  readonly code: HostErrorCode;
  readonly path: string | undefined;
  constructor(code: HostErrorCode, message: string, path?: string) {
    super(`${code}: ${message}${path ? ` [${path}]` : ''}`);
    this.name = 'HostLinkError';
    this.code = code;
    this.path = path;
  }
}
