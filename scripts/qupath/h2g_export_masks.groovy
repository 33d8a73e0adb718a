/*
 * h2g: export every image's annotations as a class mask in the H2G-Net paper's convention,
 * ready for `h2g convert-mask` (tiled pyramidal LZW TIFF) and `h2g patches --mask`.
 *
 * Use: open the project, Automate > Script editor, load this file, then
 * Run > Run for project (select the images). Works in QuPath 0.2 to 0.7.
 *
 * Paper convention (PIPELINE.md §1): class "Tumor" only, 255 on 0, 8-bit grey PNG, downsample
 * 4, size floor(W/4) × floor(H/4) from the image's top-left corner (no offset). Pixel (i, j) is
 * set when the full-resolution point (4i, 4j) lies inside an annotation (QuPath's rule, which
 * `h2g rasterize` reproduces exactly). Output: MASK_DIR/<image name without extension>.png
 *
 * Then:  h2g convert-mask MASK_DIR/<name>.png -o <name>.tif --slide <slide> --downsample 4
 */

import qupath.lib.images.servers.LabeledImageServer
import qupath.lib.regions.RegionRequest
import qupath.lib.common.ColorTools

// ---- settings ----------------------------------------------------------------------------
def MASK_DIR = buildFilePath(PROJECT_BASE_DIR, 'h2g-masks')
def DOWNSAMPLE = 4.0
// class name -> label, drawn in this order (later ones overwrite earlier ones).
// The paper: ['Tumor': 255]. For several classes use e.g. ['Stroma': 2, 'Tumor': 1].
def LABELS = ['Tumor': 255]
// -----------------------------------------------------------------------------------------

mkdirs(MASK_DIR)
def imageData = getCurrentImageData()
def server = imageData.getServer()
def entry = getProjectEntry()
def imageName = entry == null ? server.getMetadata().getName() : entry.getImageName()
def stem = GeneralTools.getNameWithoutExtension(imageName)

def builder = new LabeledImageServer.Builder(imageData)
    .backgroundLabel(0, ColorTools.packRGB(0, 0, 0))
    .downsample(DOWNSAMPLE)
    .multichannelOutput(false)
LABELS.each { name, label -> builder.addLabel(name, label as int) }
// QuPath >= 0.4 writes a palette PNG unless asked for plain grey; 0.2/0.3 have no palette
if (builder.metaClass.respondsTo(builder, 'grayscale', Boolean)) {
    builder.grayscale(true)
} else if (builder.metaClass.respondsTo(builder, 'grayscale')) {
    builder.grayscale()
}
def labelServer = builder.build()

// floor(W/d) × floor(H/d), as the paper's masks (QuPath's own whole-image export rounds)
int w = (int) Math.floor(server.getWidth() / DOWNSAMPLE)
int h = (int) Math.floor(server.getHeight() / DOWNSAMPLE)
if (w < 1 || h < 1) {
    println "h2g export: '${imageName}' is smaller than one mask pixel; skipped"
    return
}
def region = RegionRequest.createInstance(labelServer.getPath(), DOWNSAMPLE, 0, 0,
        (int) Math.round(w * DOWNSAMPLE), (int) Math.round(h * DOWNSAMPLE))
def out = buildFilePath(MASK_DIR, stem + '.png')
// write beside, then move into place: no half-written mask if QuPath stops midway
def tmp = new File(out + '.part.png')
writeImageRegion(labelServer, region, tmp.getPath())
java.nio.file.Files.move(tmp.toPath(), new File(out).toPath(),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING)
println "h2g export: '${imageName}' -> ${out} (${w} x ${h} at downsample ${DOWNSAMPLE}, labels ${LABELS})"
