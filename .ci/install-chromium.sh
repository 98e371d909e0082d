#!/usr/bin/env bash
# Installs, when missing, what the charts' browser test (tests/DistillSharp.Tests/Reporting/ChartBrowserTests.cs)
# needs: Debian's chromium (headless screenshots), python3-nbconvert (the notebook's HTML export) and libjs-requirejs
# (the require.js that Debian's nbconvert pages load, so the export has an AMD loader as nbconvert's pages do), and
# plotly.js from the npm package plotly.js-dist-min, at the version Plotly.NET 6.0.0's charts load, into
# artifacts/browser/.
# Idempotent: a second run installs nothing. It never fails: without these the test is skipped and says why.
set -uo pipefail
cd "$(dirname "$0")/.."

plotlyjs_version=2.28.0
plotlyjs_folder=artifacts/browser

apt_install() {
  command -v apt-get >/dev/null || { echo "ci: no apt-get to install $*; the chart browser test will be skipped"; return 1; }
  echo "ci: installing $*"
  (apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 \
    || { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1; }) \
    || { echo "ci: could not install $*; the chart browser test will be skipped"; return 1; }
}

if [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi

if ! /usr/bin/python3 -c "import nbconvert" >/dev/null 2>&1; then
  apt_install python3-nbconvert
fi

if [ ! -f /usr/share/javascript/requirejs/require.min.js ]; then
  apt_install libjs-requirejs
fi

installed=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$plotlyjs_folder/node_modules/plotly.js-dist-min/package.json" 2>/dev/null | head -n 1)
if [ "$installed" != "$plotlyjs_version" ]; then
  if command -v npm >/dev/null; then
    echo "ci: installing plotly.js-dist-min@$plotlyjs_version into $plotlyjs_folder"
    mkdir -p "$plotlyjs_folder"
    npm install --prefix "$plotlyjs_folder" --no-save --no-audit --no-fund --loglevel=error "plotly.js-dist-min@$plotlyjs_version" >/dev/null 2>&1 \
      || echo "ci: could not install plotly.js-dist-min; the chart browser test will be skipped"
  else
    echo "ci: no npm to install plotly.js-dist-min; the chart browser test will be skipped"
  fi
fi
exit 0
