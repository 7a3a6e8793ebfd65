// npm test runs this before ava, so the model and photos are fetched once, up front, and a
// machine with neither a network nor a mirror is told so in one line, not once per test file.
try {
  await import('./helpers/shared.js');
} catch (err) {
  console.error(`npm test: ${(err as Error).message}`);
  process.exitCode = 1;
}
