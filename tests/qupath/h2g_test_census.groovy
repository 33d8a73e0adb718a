/*
 * Test only: prints the current image's annotations per class as QuPath sees them, one line
 *   H2GCENSUS total=N distinct=D locked=L | CLASS count=C area=A ...
 * (classes sorted; area = the sum of ROI.getArea() in level-0 pixels, 2 decimals; distinct =
 * the number of different class + geometry pairs, so duplicates show as distinct < total;
 * locked = the number of locked annotations).
 */

import java.util.HashSet
import java.util.Locale
import java.util.TreeMap

def annotations = getCurrentHierarchy().getAnnotationObjects()
def count = new TreeMap<String, Integer>()
def area = new TreeMap<String, Double>()
def keys = new HashSet<String>()
int locked = 0
annotations.each {
    String c = it.getPathClass() == null ? 'unclassified' : it.getPathClass().toString()
    count[c] = (count[c] ?: 0) + 1
    area[c] = (area[c] ?: 0d) + it.getROI().getArea()
    keys.add(c + '|' + it.getROI().getGeometry().norm().toText())
    if (it.isLocked()) {
        locked++
    }
}
def parts = count.keySet().collect { c -> String.format(Locale.ROOT, '%s count=%d area=%.2f', c, count[c], area[c]) }
println "H2GCENSUS total=${annotations.size()} distinct=${keys.size()} locked=${locked} | " + parts.join(' | ')
