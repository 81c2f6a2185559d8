#!/usr/bin/env bash
# Copy the dashboard's front-end libraries from npm into the Python package, so the monitor serves
# them itself (no CDN, works offline). Versions are pinned in package.json / package-lock.json;
# run this after changing them and commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund
dest=src/whmcs_monitor/web/static/vendor
mkdir -p "$dest"
cp node_modules/htmx.org/dist/htmx.min.js "$dest/htmx.min.js"
cp node_modules/uplot/dist/uPlot.iife.min.js "$dest/uPlot.iife.min.js"
cp node_modules/uplot/dist/uPlot.min.css "$dest/uPlot.min.css"
cp node_modules/uplot/LICENSE "$dest/uPlot.LICENSE"
cp node_modules/htmx.org/LICENSE "$dest/htmx.LICENSE"
( cd "$dest" && sha256sum htmx.min.js uPlot.iife.min.js uPlot.min.css > SHA256SUMS )
echo "vendored into $dest:"
ls -l "$dest"
