/** The sign-in page (token mode), rendered on the server so it works without JavaScript. */

function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

export function renderSignInPage(options: { readonly message?: string | undefined; readonly version: string }): string {
  const message =
    options.message === undefined
      ? ''
      : `<p class="form-error" role="alert" id="sign-in-error">${escapeHtml(options.message)}</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - Jobs console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<main class="sign-in">
<h1>Jobs console</h1>
<p>Sign in with an access token. Tokens are set by whoever runs the worker (<code>CONSOLE_TOKENS_FILE</code>).</p>
${message}
<form method="post" action="/sign-in" class="card">
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required minlength="1" maxlength="1024" autofocus${options.message === undefined ? '' : ' aria-describedby="sign-in-error"'}>
<button type="submit">Sign in</button>
</form>
<p class="muted">worker ${escapeHtml(options.version)}</p>
</main>
</body>
</html>
`;
}
