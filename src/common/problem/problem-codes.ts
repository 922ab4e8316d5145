/**
 * The closed list of machine codes (API.md section 1), with the status and title each one
 * always answers with. Adding a code is a deliberate change to the public contract.
 */
export const PROBLEM_CODES = {
  invalid_request: { status: 400, title: 'Invalid Request' },
  validation_failed: { status: 400, title: 'Validation Failed' },
  invalid_api_version: { status: 400, title: 'Invalid API Version' },
  unsupported_api_version: { status: 400, title: 'Unsupported API Version' },
  invalid_idempotency_key: { status: 400, title: 'Invalid Idempotency Key' },
  header_not_allowed: { status: 400, title: 'Header Not Allowed' },
  invalid_end_user_id: { status: 400, title: 'Invalid End-User Id' },
  model_not_configured: { status: 400, title: 'Model Not Configured' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  invalid_end_user: { status: 403, title: 'Invalid End-User' },
  not_found: { status: 404, title: 'Not Found' },
  agent_not_found: { status: 404, title: 'Agent Not Found' },
  agent_version_not_found: { status: 404, title: 'Agent Version Not Found' },
  run_not_found: { status: 404, title: 'Run Not Found' },
  method_not_allowed: { status: 405, title: 'Method Not Allowed' },
  idempotency_in_progress: { status: 409, title: 'Idempotency Key In Progress' },
  run_not_cancellable: { status: 409, title: 'Run Not Cancellable' },
  conflict: { status: 409, title: 'Conflict' },
  payload_too_large: { status: 413, title: 'Payload Too Large' },
  unsupported_media_type: { status: 415, title: 'Unsupported Media Type' },
  idempotency_conflict: { status: 422, title: 'Idempotency Conflict' },
  rate_limited: { status: 429, title: 'Rate Limited' },
  org_run_concurrency_exceeded: { status: 429, title: 'Organization Run Concurrency Exceeded' },
  internal_error: { status: 500, title: 'Internal Server Error' },
  service_unavailable: { status: 503, title: 'Service Unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEM_CODES;

export const PROBLEM_TYPE_BASE = 'https://docs.appstrate.dev/errors/';

export function problemType(code: ProblemCode): string {
  return PROBLEM_TYPE_BASE + code.replace(/_/g, '-');
}
