/*
 * h2g: export every image's annotations as a GeoJSON FeatureCollection, for
 * `h2g rasterize` (masks of any size, streamed, QuPath's pixel rule) and `h2g patches --mask`.
 *
 * Use: open the project, Automate > Script editor, load this file, then
 * Run > Run for project (select the images). QuPath 0.2 to 0.7 (docs/qupath-scripts.md).
 *
 * Output: GEOJSON_DIR/<stem>.geojson (the stem: see the naming block below), a FeatureCollection
 * in every version, one Feature per annotation as that version's own GeoJSON writer
 * (GsonTools) writes it (on 0.2/0.3 with the ellipse mark of 0.4+ added), written object by
 * object beside as <stem>.geojson.part and moved into place when complete.
 *
 * Then:  h2g rasterize <stem>.geojson --like <slide> --downsample 4 --class Tumor=255 -o <stem>.tif
 */

import java.io.BufferedWriter
import java.io.File
import java.io.FileOutputStream
import java.io.OutputStreamWriter
import java.nio.charset.StandardCharsets
import java.nio.file.AtomicMoveNotSupportedException
import java.nio.file.Files
import java.nio.file.StandardCopyOption
import java.util.ArrayList
import java.util.HashSet
import java.util.List
import java.util.Locale
import com.google.gson.JsonElement
import qupath.lib.io.GsonTools
import qupath.lib.objects.PathObject
import qupath.lib.roi.EllipseROI

// ---- settings ------------------------------------------------------------------------------
def GEOJSON_DIR = buildFilePath(PROJECT_BASE_DIR, 'h2g-annotations')
// indented JSON (larger files, easier to read)
def PRETTY = false
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

def entry = getProjectEntry()
String imageName = entry == null ? getCurrentServer().getMetadata().getName() : entry.getImageName()
def (String stem, String warning) = h2gFileStem(getProject(), entry, imageName)
if (warning != null) {
    println "h2g export: ${warning}"
}
def annotations = getAnnotationObjects()
mkdirs(GEOJSON_DIR)
def out = new File(GEOJSON_DIR, stem + '.geojson')
def tmp = new File(GEOJSON_DIR, stem + '.geojson.part')
// QuPath >= 0.3 could wrap the list itself (PathIO / exportObjectsToGeoJson); 0.2 writes only a
// bare array. Writing the wrapper here gives the same FeatureCollection in every version, and
// holds one object's JSON at a time.
def gson = GsonTools.getInstance(PRETTY as boolean)
boolean complete = false
def writer = new BufferedWriter(new OutputStreamWriter(new FileOutputStream(tmp), StandardCharsets.UTF_8))
try {
    writer.write('{"type": "FeatureCollection", "features": [')
    int n = 0
    for (PathObject o : annotations) {
        writer.write(n++ == 0 ? '\n' : ',\n')
        // (as text first: 0.2's writer cannot write into a JSON tree)
        def feature = gson.fromJson(gson.toJson(o, PathObject), JsonElement)
        // QuPath >= 0.4 marks an ellipse ("isEllipse": true in the geometry, read back from its
        // bounds); 0.2/0.3 write only the polygon, which the mark is added to here, so that
        // h2g rasterize can fill the ellipse as QuPath does
        def geometry = feature.isJsonObject() ? feature.getAsJsonObject().get('geometry') : null
        if (o.getROI() instanceof EllipseROI && geometry != null && geometry.isJsonObject()
                && !geometry.getAsJsonObject().has('isEllipse')) {
            geometry.getAsJsonObject().addProperty('isEllipse', true)
        }
        gson.toJson(feature, writer)
    }
    writer.write('\n]}\n')
    writer.close()
    try {
        Files.move(tmp.toPath(), out.toPath(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE)
    } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp.toPath(), out.toPath(), StandardCopyOption.REPLACE_EXISTING)
    }
    complete = true
} finally {
    if (!complete) {
        writer.close()
        tmp.delete()
    }
}
println "h2g export: ${annotations.size()} annotations of '${imageName}' -> ${out.getPath()}"
