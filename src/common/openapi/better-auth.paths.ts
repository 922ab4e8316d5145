/** Better Auth serves these itself; they are described here so the document covers every route. */
const json = (schema: object) => ({ 'application/json': { schema } });
const session = {
  type: 'object',
  properties: {
    user: { type: 'object', properties: { id: { type: 'string' }, email: { type: 'string' }, name: { type: 'string' } } },
    session: { type: 'object', properties: { id: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } } },
  },
};
const setCookie = {
  'Set-Cookie': { description: '`better-auth.session_token=…; HttpOnly; SameSite=Lax`', schema: { type: 'string' } },
};
const tag = ['Auth (Better Auth)'];
const errors = { '400': { description: 'Invalid body (Better Auth error format).' }, '401': { description: 'Wrong credentials.' } };

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
      responses: { '200': { description: 'Signed up and signed in.', headers: setCookie, content: json(session) }, ...errors },
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
      responses: { '200': { description: 'Signed in.', headers: setCookie, content: json(session) }, ...errors },
    },
  },
  '/api/auth/sign-out': {
    post: { tags: tag, summary: 'Sign out (clears the session cookie)', responses: { '200': { description: 'Signed out.' } } },
  },
  '/api/auth/get-session': {
    get: {
      tags: tag,
      summary: 'The current session, or null',
      security: [{ session: [] }],
      responses: { '200': { description: 'The session and user, or `null`.', content: json(session) } },
    },
  },
};
