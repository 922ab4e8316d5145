/** Better Auth serves these itself; they are described here so the document covers every route. */
const json = (schema: object) => ({ 'application/json': { schema } });
const user = {
  type: 'object',
  required: ['id', 'email', 'name'],
  properties: { id: { type: 'string' }, email: { type: 'string', format: 'email' }, name: { type: 'string' }, emailVerified: { type: 'boolean' } },
};
/** What sign-up and sign-in answer: the user and the session token (also set as the cookie). */
const signedIn = (extra: Record<string, object> = {}) => ({
  type: 'object',
  required: ['token', 'user'],
  properties: { ...extra, token: { type: 'string' }, user },
});
const session = {
  type: ['object', 'null'],
  description: '`null` without a valid session cookie.',
  properties: {
    user,
    session: { type: 'object', properties: { id: { type: 'string' }, userId: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } } },
  },
};
const REQUEST_ID = { 'Request-Id': { $ref: '#/components/headers/Request-Id' } };
const headers = {
  ...REQUEST_ID,
  'Set-Cookie': { description: '`better-auth.session_token=…; HttpOnly; SameSite=Lax`', schema: { type: 'string' } },
};
/** Better Auth's own error body, not problem+json. */
const betterAuthError = (description: string, code: string) => ({
  description,
  headers: REQUEST_ID,
  content: json({ type: 'object', properties: { code: { type: 'string', example: code }, message: { type: 'string' } } }),
});
const invalidBody = { '400': betterAuthError('Invalid body (Better Auth error format).', 'VALIDATION_ERROR') };
const tag = ['Auth (Better Auth)'];

export const BETTER_AUTH_PATHS = {
  '/api/auth/sign-up/email': {
    post: {
      tags: tag,
      summary: 'Sign up with email and password',
      requestBody: {
        required: true,
        content: json({
          type: 'object',
          required: ['email', 'password', 'name'],
          properties: { email: { type: 'string', format: 'email' }, password: { type: 'string', minLength: 8 }, name: { type: 'string' } },
        }),
      },
      responses: {
        '200': { description: 'Signed up and signed in.', headers, content: json(signedIn()) },
        ...invalidBody,
        '422': betterAuthError('An account with this email already exists.', 'USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL'),
      },
    },
  },
  '/api/auth/sign-in/email': {
    post: {
      tags: tag,
      summary: 'Sign in with email and password',
      requestBody: {
        required: true,
        content: json({
          type: 'object',
          required: ['email', 'password'],
          properties: { email: { type: 'string', format: 'email' }, password: { type: 'string' } },
        }),
      },
      responses: {
        '200': { description: 'Signed in.', headers, content: json(signedIn({ redirect: { type: 'boolean' } })) },
        ...invalidBody,
        '401': betterAuthError('Wrong email or password.', 'INVALID_EMAIL_OR_PASSWORD'),
      },
    },
  },
  '/api/auth/sign-out': {
    post: {
      tags: tag,
      summary: 'Sign out (clears the session cookie)',
      description: 'Outside a browser, send an `Origin` header: Better Auth refuses a request that carries the session cookie without one (403 `MISSING_OR_NULL_ORIGIN`).',
      responses: {
        '200': { description: 'Signed out.', headers, content: json({ type: 'object', properties: { success: { type: 'boolean', enum: [true] } } }) },
        '403': betterAuthError('The session cookie without an `Origin` header.', 'MISSING_OR_NULL_ORIGIN'),
      },
    },
  },
  '/api/auth/get-session': {
    get: {
      tags: tag,
      summary: 'The current session, or null',
      security: [{ session: [] }],
      responses: { '200': { description: 'The session and user, or `null`.', headers: REQUEST_ID, content: json(session) } },
    },
  },
};
