// Removes the temp folder global-setup.js made for this jest run (see there why).
const fs = require('fs');

module.exports = async () => {
  const dir = process.env.JEST_RUN_TMPDIR;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
};
