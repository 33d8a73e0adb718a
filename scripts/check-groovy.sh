#!/usr/bin/env bash
# Parses the QuPath Groovy scripts (scripts/qupath/*.groovy) with a Groovy compiler up to the
# CONVERSION phase: syntax errors fail, QuPath's classes are not needed (they are resolved
# later, inside QuPath). Installs Debian's groovy when missing (apt, as root).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v groovy >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends groovy >/dev/null
  else
    echo "skipped: groovy is not installed (apt-get install groovy)" >&2
    [ "${CI:-}" = true ] && exit 1
    exit 0
  fi
fi
# Debian's groovy wrapper wants JAVA_HOME; take it from the java on PATH
if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/java" ]; then
  JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
  export JAVA_HOME
fi
groovy -e '
import org.codehaus.groovy.control.*
int bad = 0
for (String path : args) {
    def unit = new CompilationUnit()
    unit.addSource(new File(path))
    try {
        unit.compile(Phases.CONVERSION)
        println "PASS groovy syntax: $path"
    } catch (CompilationFailedException e) {
        bad++
        println "FAIL groovy syntax: $path\n${e.message}"
    }
}
System.exit(bad == 0 ? 0 : 1)
' scripts/qupath/*.groovy
# the file-naming block is the same in all three scripts (each script must stand alone in QuPath,
# so it cannot be shared): any drift between the copies is a failure
block() { sed -n '/^\/\/ ---- h2g file naming/,/^\/\/ ---- end of h2g file naming/p' "$1"; }
ref=$(block scripts/qupath/h2g_export_masks.groovy)
[ -n "$ref" ] || { echo "FAIL groovy naming block: not found in h2g_export_masks.groovy"; exit 1; }
for f in scripts/qupath/h2g_export_geojson.groovy scripts/qupath/h2g_import_geojson.groovy; do
  if [ "$(block "$f")" = "$ref" ]; then
    echo "PASS groovy naming block: $f same as h2g_export_masks.groovy"
  else
    echo "FAIL groovy naming block: $f differs from h2g_export_masks.groovy"; exit 1
  fi
done
