/*
 * h2g: import the GeoJSON annotations written by `h2g vectorize` / `h2g tissue --geojson` /
 * `h2g segment` / `h2g preannotate` (or by h2g_export_geojson.groovy) into every image of a
 * QuPath project.
 *
 * Use: open the project, Automate > Script editor, load this file, then
 * Run > Run for project (select the images). QuPath 0.2 to 0.7 (docs/qupath-scripts.md).
 *
 * For each image it reads GEOJSON_DIR/<stem><SUFFIX> (the stem: see the naming block below;
 * e.g. CMU-1.geojson for CMU-1.svs, or CMU-1.tissue-saturation.geojson with that SUFFIX): a
 * FeatureCollection, a bare array of Features or one Feature. Objects already in the image are
 * not added again: the same object id (QuPath 0.4+, whose objects have ids), else the same class
 * and geometry. One line per image says what was added, skipped and removed.
 *
 * Coordinates: h2g writes level-0 pixels of the slide file by default. For slides that QuPath
 * crops to their OpenSlide bounds (MRXS, some NDPI), vectorize with `--frame qupath --slide S`.
 */

import java.io.BufferedReader
import java.io.File
import java.io.FileInputStream
import java.io.InputStreamReader
import java.nio.charset.StandardCharsets
import java.util.ArrayList
import java.util.HashSet
import java.util.LinkedHashMap
import java.util.List
import java.util.Locale
import java.util.Set
import com.google.gson.JsonElement
import com.google.gson.JsonObject
import com.google.gson.stream.JsonReader
import com.google.gson.stream.JsonToken
import qupath.lib.io.GsonTools
import qupath.lib.objects.PathObject

// ---- settings ------------------------------------------------------------------------------
// folder with the GeoJSON files (default: "h2g" inside the project folder)
def GEOJSON_DIR = buildFilePath(PROJECT_BASE_DIR, 'h2g')
// what follows the stem in each file name
def SUFFIX = '.geojson'
// remove the image's existing annotations first (a re-import then replaces the previous one)
def REPLACE_EXISTING = false
// lock imported annotations against accidental edits
def LOCK = false
// --------------------------------------------------------------------------------------------

// ---- h2g file naming (the same block in all three h2g scripts; docs/qupath-scripts.md) ----
// An image's files are named by its stem: the image name without its file extension (the last
// ".xxx", 1-10 letters or digits, of the file part), so "CMU-1.svs" -> "CMU-1", the name
// `h2g vectorize -o CMU-1.geojson` gives. One series of a multi-series file, which QuPath names
// "FILE.EXT - SERIES", keeps its series: "a.czi - Scene #1" -> "a - Scene #1". Characters that
// some file system refuses (\ / : * ? " < > | and control characters) become "_".
// Stems are unique within the project, ignoring case: images sharing a stem are named by their
// whole (safe) name instead ("a.svs", "a.ndpi"); images sharing that too get "__id" and their
// project entry id ("a.svs__id3"). A warning says so.
String h2gSafeName(String s) {
    String t = s.replaceAll('[\\\\/:*?"<>|\\p{Cntrl}]', '_').trim()
    while (t.endsWith('.')) {
        t = t.substring(0, t.length() - 1).trim()
    }
    return t.isEmpty() ? 'image' : t
}

String h2gPlainStem(String imageName) {
    String file = imageName
    String series = ''
    def m = imageName =~ /^(.+?\.[A-Za-z0-9]{1,10}) - (.+)$/
    if (m.matches()) {
        file = m.group(1)
        series = ' - ' + m.group(2)
    }
    def e = file =~ /^(.+)\.[A-Za-z0-9]{1,10}$/
    if (e.matches()) {
        file = e.group(1)
    }
    return h2gSafeName(file + series)
}

// [stem, warning or null] for the image `imageName` (project entry `entry`, may be null)
List h2gFileStem(project, entry, String imageName) {
    String plain = h2gPlainStem(imageName)
    if (project == null || entry == null) {
        return [plain, null]
    }
    def images = new ArrayList(project.getImageList())
    int me = images.findIndexOf { it.getID() == entry.getID() }
    if (me < 0) {
        return [plain, null]
    }
    List<String> names = images.collect { h2gPlainStem(it.getImageName()) }
    def countLower = { List<String> l ->
        def c = [:]
        l.each { String s -> String k = s.toLowerCase(Locale.ROOT); c[k] = (c[k] ?: 0) + 1 }
        return c
    }
    def c0 = countLower(names)
    List<String> whole = (0..<images.size()).collect { int i ->
        c0[names[i].toLowerCase(Locale.ROOT)] > 1 ? h2gSafeName(images[i].getImageName()) : names[i]
    }
    def c1 = countLower(whole)
    List<String> unique = (0..<images.size()).collect { int i ->
        c1[whole[i].toLowerCase(Locale.ROOT)] > 1 ? whole[i] + '__id' + images[i].getID() : whole[i]
    }
    // a stem can still equal another image's plain stem only by an unlikely coincidence
    // ("x__id2.svs"); such a one gets "_" appended, in project order
    def taken = new HashSet<String>()
    for (int i = 0; i < unique.size(); i++) {
        while (!taken.add(unique[i].toLowerCase(Locale.ROOT))) {
            unique[i] = unique[i] + '_'
        }
    }
    String stem = unique[me]
    if (stem == plain) {
        return [plain, null]
    }
    def sharing = (0..<images.size()).findAll { names[it].equalsIgnoreCase(plain) }
            .collect { "'" + images[it].getImageName() + "'" }
    return [stem, "WARNING: ${sharing.size()} images of this project have the file stem '${plain}' " +
            "(${sharing.join(', ')}); the files of '${imageName}' are named '${stem}'"]
}
// ---- end of h2g file naming -----------------------------------------------------------------

// the key an object is recognised by when it is imported again: its id where this QuPath
// version has object ids and the file gave one, else its class and exact geometry
String h2gGeometryKey(PathObject o) {
    def c = o.getPathClass()
    def roi = o.getROI()
    return (c == null ? '' : c.toString()) + '|' + roi.getZ() + '|' + roi.getT() + '|' + roi.getGeometry().norm().toText()
}

def entry = getProjectEntry()
String imageName = entry == null ? getCurrentServer().getMetadata().getName() : entry.getImageName()
def (String stem, String warning) = h2gFileStem(getProject(), entry, imageName)
if (warning != null) {
    println "h2g import: ${warning}"
}
def file = new File(GEOJSON_DIR, stem + SUFFIX)
if (!file.isFile()) {
    println "h2g import: '${imageName}': no ${file.getName()} in ${GEOJSON_DIR}; skipped"
    return
}

def hierarchy = getCurrentHierarchy()
// QuPath 0.4+: objects have ids (PathObject.getID) and the hierarchy has addObjects;
// 0.2/0.3: no ids, addPathObjects
boolean hasIds = hierarchy.getRootObject().metaClass.respondsTo(hierarchy.getRootObject(), 'getID')
boolean hasAddObjects = hierarchy.metaClass.respondsTo(hierarchy, 'addObjects')

int removed = 0
if (REPLACE_EXISTING) {
    def old = new ArrayList(hierarchy.getAnnotationObjects())
    removed = old.size()
    hierarchy.removeObjects(old, true)
}
def knownIds = new HashSet<String>()
Set<String> knownGeometries = null        // built when first needed
def existing = new ArrayList(hierarchy.getAnnotationObjects())
if (hasIds) {
    existing.each { knownIds.add(it.getID().toString()) }
}

def gson = GsonTools.getInstance()
def objects = new ArrayList<PathObject>()
int skipped = 0
int unreadable = 0
def readFeature = { JsonElement el ->
    if (el == null || !el.isJsonObject()) {
        unreadable++
        return
    }
    JsonObject f = el.getAsJsonObject()
    boolean fileId = f.has('id') && f.get('id').isJsonPrimitive()
    if (!hasIds && !fileId) {
        // QuPath 0.2 reads the object type from "id" and fails without one (0.3 accepts this)
        f.addProperty('id', 'PathAnnotationObject')
    }
    PathObject o
    try {
        o = gson.fromJson(f, PathObject)
    } catch (Exception e) {
        unreadable++
        if (unreadable <= 3) {
            println "h2g import: a feature of ${file.getName()} was not read: ${e.getMessage()}"
        }
        return
    }
    if (o == null || o.getROI() == null) {
        unreadable++
        return
    }
    boolean seen
    if (hasIds && fileId) {
        seen = !knownIds.add(o.getID().toString())
    } else {
        if (knownGeometries == null) {
            knownGeometries = new HashSet<String>()
            existing.each { knownGeometries.add(h2gGeometryKey(it)) }
        }
        seen = !knownGeometries.add(h2gGeometryKey(o))
    }
    if (seen) {
        skipped++
    } else {
        objects.add(o)
    }
}

// streamed: one Feature in memory at a time
def reader = new BufferedReader(new InputStreamReader(new FileInputStream(file), StandardCharsets.UTF_8))
try {
    reader.mark(1)
    if (reader.read() != 0xFEFF) {   // a UTF-8 byte-order mark is skipped
        reader.reset()
    }
    def json = new JsonReader(reader)
    json.setLenient(true)            // bare NaN, as QuPath <= 0.4 wrote
    if (json.peek() == JsonToken.BEGIN_ARRAY) {
        json.beginArray()
        while (json.hasNext()) {
            readFeature(gson.fromJson(json, JsonElement))
        }
        json.endArray()
    } else {
        json.beginObject()
        def top = new JsonObject()
        boolean collection = false
        while (json.hasNext()) {
            String key = json.nextName()
            if (key == 'features' && json.peek() == JsonToken.BEGIN_ARRAY) {
                collection = true
                json.beginArray()
                while (json.hasNext()) {
                    readFeature(gson.fromJson(json, JsonElement))
                }
                json.endArray()
            } else {
                top.add(key, gson.fromJson(json, JsonElement))
            }
        }
        json.endObject()
        if (!collection) {
            readFeature(top)         // a single Feature
        }
    }
} finally {
    reader.close()
}

if (LOCK) {
    objects.each { it.setLocked(true) }
}
if (hasAddObjects) {
    hierarchy.addObjects(objects)
} else {
    hierarchy.addPathObjects(objects)
}
fireHierarchyUpdate()
def byClass = new LinkedHashMap<String, Integer>()
objects.each {
    String c = it.getPathClass() == null ? 'unclassified' : it.getPathClass().toString()
    byClass[c] = (byClass[c] ?: 0) + 1
}
println "h2g import: '${imageName}': ${objects.size()} added from ${file.getName()} ${byClass}" +
        ", ${skipped} already present" + (removed > 0 ? ", ${removed} removed first" : '') +
        (unreadable > 0 ? ", ${unreadable} unreadable" : '')
