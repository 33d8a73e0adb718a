/*
 * h2g: import the GeoJSON annotations written by `h2g vectorize` / `h2g tissue --geojson`
 * into every image of a QuPath project.
 *
 * Use: open the project, Automate > Script editor, load this file, then
 * Run > Run for project (select the images). Works in QuPath 0.2 to 0.7.
 *
 * For each image it looks for  GEOJSON_DIR/<image name without extension><SUFFIX>
 * (e.g. CMU-1.geojson, or CMU-1.tissue-saturation.geojson with SUFFIX below), and adds its
 * annotations. Images without a file are listed and skipped; nothing else is changed.
 *
 * Coordinates: h2g writes level-0 pixels of the slide file by default. For slides that QuPath
 * crops to their OpenSlide bounds (MRXS, some NDPI), vectorize with `--frame qupath --slide S`.
 */

import qupath.lib.io.GsonTools
import qupath.lib.objects.PathObject

// ---- settings ----------------------------------------------------------------------------
// folder with the GeoJSON files (default: "h2g" inside the project folder)
def GEOJSON_DIR = buildFilePath(PROJECT_BASE_DIR, 'h2g')
// what follows the image name in each file name
def SUFFIX = '.geojson'
// remove the image's existing annotations first (a re-import replaces the previous one)
def REPLACE_EXISTING = false
// lock imported annotations against accidental edits
def LOCK = false
// -----------------------------------------------------------------------------------------

def entry = getProjectEntry()
def imageName = entry == null ? getCurrentServer().getMetadata().getName() : entry.getImageName()
def stem = GeneralTools.getNameWithoutExtension(imageName)
def file = new File(GEOJSON_DIR, stem + SUFFIX)
if (!file.isFile()) {
    println "h2g import: no ${file.getName()} in ${GEOJSON_DIR}; '${imageName}' skipped"
    return
}

// One path for every QuPath version: GsonTools turns each Feature into a PathObject (0.2+);
// the file may be a FeatureCollection or a bare array of Features.
def gson = GsonTools.getInstance()
def root = new com.google.gson.JsonParser().parse(file.getText('UTF-8'))
def features = root.isJsonArray() ? root.getAsJsonArray() : root.getAsJsonObject().getAsJsonArray('features')
List<PathObject> objects = []
int failed = 0
for (f in features) {
    try {
        objects << gson.fromJson(f, PathObject)
    } catch (Exception e) {
        failed++
        println "h2g import: a feature of ${file.getName()} was not read: ${e.getMessage()}"
    }
}

def hierarchy = getCurrentHierarchy()
if (REPLACE_EXISTING) {
    hierarchy.removeObjects(hierarchy.getAnnotationObjects(), true)
}
if (LOCK) {
    objects.each { it.setLocked(true) }
}
hierarchy.addObjects(objects)
fireHierarchyUpdate()
def byClass = objects.countBy { it.getPathClass() == null ? 'unclassified' : it.getPathClass().toString() }
println "h2g import: ${objects.size()} annotations into '${imageName}' from ${file.getName()} ${byClass}" +
        (failed > 0 ? ", ${failed} unreadable" : '')
