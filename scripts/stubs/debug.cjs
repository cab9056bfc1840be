// Stands in for the `debug` package in both bundles (scripts/build.mjs aliases it here).
// @tokenizer/inflate, which file-type loads, logs through `debug`; zt-ffmpeg never turns that
// logging on. The real package, when it is loaded, require()s `supports-color` from wherever
// Node's module search finds one: not from the bundle but from every node_modules directory
// above the install, so a /tmp/node_modules that anyone can make would run inside every job.
'use strict';
function createDebug() {
  const log = () => {};
  log.enabled = false;
  log.extend = () => createDebug();
  return log;
}
createDebug.enable = () => {};
createDebug.disable = () => '';
createDebug.enabled = () => false;
module.exports = createDebug;
module.exports.default = createDebug;
