/*
 * h2g: export every image's annotations as a GeoJSON FeatureCollection, for
 * `h2g rasterize` (masks of any size, streamed, QuPath's pixel rule) and `h2g patches --mask`.
 *
 * Use: open the project, Automate > Script editor, load this file, then
 * Run > Run for project (select the images). Works in QuPath 0.2 to 0.7.
 * Output: GEOJSON_DIR/<image name without extension>.geojson
 *
 * Then:  h2g rasterize <name>.geojson --like <slide> --downsample 4 --class Tumor=255 -o <name>.tif
 */

import qupath.lib.io.GsonTools

// ---- settings ----------------------------------------------------------------------------
def GEOJSON_DIR = buildFilePath(PROJECT_BASE_DIR, 'h2g-annotations')
// -----------------------------------------------------------------------------------------

mkdirs(GEOJSON_DIR)
def entry = getProjectEntry()
def imageName = entry == null ? getCurrentServer().getMetadata().getName() : entry.getImageName()
def stem = GeneralTools.getNameWithoutExtension(imageName)
def annotations = getAnnotationObjects()
def out = buildFilePath(GEOJSON_DIR, stem + '.geojson')
def tmp = out + '.part'
try {
    // QuPath >= 0.4: a FeatureCollection
    exportObjectsToGeoJson(annotations, tmp, 'FEATURE_COLLECTION')
} catch (MissingMethodException e) {
    // QuPath 0.2/0.3: a JSON array of Features (h2g reads both)
    new File(tmp).setText(GsonTools.getInstance(true).toJson(annotations), 'UTF-8')
}
java.nio.file.Files.move(new File(tmp).toPath(), new File(out).toPath(),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING)
println "h2g export: ${annotations.size()} annotations of '${imageName}' -> ${out}"
