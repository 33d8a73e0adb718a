/*
 * h2g: export every image's annotations as a label mask in the H2G-Net paper's convention,
 * ready for `h2g convert-mask` (tiled pyramidal LZW TIFF) and `h2g patches --mask`.
 *
 * Use: open the project, Automate > Script editor, load this file, then
 * Run > Run for project (select the images). QuPath 0.2 to 0.7 (docs/qupath-scripts.md).
 *
 * Paper convention: class "Tumor" only, 255 on 0, downsample 4, size floor(W/4) x floor(H/4)
 * from the image's top-left corner (no offset). The labels are QuPath's own (LabeledImageServer,
 * its pixel rule), read as raster samples strip by strip, whatever colour model the server
 * picks, and written as a true 8-bit greyscale PNG (colour type 0, no palette): 0 and 255 read
 * as 0 and 255 in every reader. Memory holds one strip, never the whole mask.
 * Output: MASK_DIR/<stem>.png (the stem: see the naming block below), written beside as
 * <stem>.png.part and moved into place when complete.
 *
 * Then:  h2g convert-mask MASK_DIR/<stem>.png <stem>.tif --slide <slide> --downsample 4
 */

import groovy.transform.CompileStatic
import java.awt.image.Raster
import java.io.BufferedOutputStream
import java.io.ByteArrayOutputStream
import java.io.DataOutputStream
import java.io.File
import java.io.FileOutputStream
import java.nio.file.AtomicMoveNotSupportedException
import java.nio.file.Files
import java.nio.file.StandardCopyOption
import java.util.ArrayList
import java.util.Arrays
import java.util.HashSet
import java.util.LinkedHashMap
import java.util.List
import java.util.Locale
import java.util.zip.CRC32
import java.util.zip.Deflater
import qupath.lib.images.servers.LabeledImageServer
import qupath.lib.regions.RegionRequest

// ---- settings ------------------------------------------------------------------------------
def MASK_DIR = buildFilePath(PROJECT_BASE_DIR, 'h2g-masks')
// level-0 pixels per mask pixel: a whole number (the paper: 4)
def DOWNSAMPLE = 4
// class name -> label (1-255), drawn in this order (later ones over earlier ones); 0 is the
// background. The paper: ['Tumor': 255]. Several classes: e.g. ['Stroma': 1, 'Tumor': 2].
def LABELS = ['Tumor': 255]
// mask rows rendered at a time (one strip in memory; 512 = the label server's tile height)
def STRIP_ROWS = 512
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

// A PNG written by hand: signature, IHDR (8-bit greyscale), the rows deflated into IDAT chunks
// as they come, IEND; every chunk with its CRC-32. Nothing of QuPath's image writers is used,
// so no version's colour-model choice can turn the labels into a palette or 16-bit image.
// The per-pixel code is statically compiled (dynamic Groovy is ~100x slower per pixel).
@CompileStatic
static void pngChunk(DataOutputStream out, String type, byte[] data, int length) {
    byte[] t = type.getBytes('US-ASCII')
    CRC32 crc = new CRC32()
    crc.update(t)
    crc.update(data, 0, length)
    out.writeInt(length)
    out.write(t)
    out.write(data, 0, length)
    out.writeInt((int) crc.getValue())
}

// deflates what the deflater gives now into IDAT chunks of about 1 MiB
@CompileStatic
static void pngDrain(Deflater deflater, byte[] zbuf, ByteArrayOutputStream idat, DataOutputStream out) {
    int n = deflater.deflate(zbuf)
    if (n > 0) {
        idat.write(zbuf, 0, n)
        if (idat.size() >= (1 << 20)) {
            pngChunk(out, 'IDAT', idat.toByteArray(), idat.size())
            idat.reset()
        }
    }
}

// one strip of rows: label samples (band 0) -> PNG rows (filter byte 0, then the labels);
// a null raster is an empty region, all background (0)
@CompileStatic
static void pngRows(Raster raster, int w, int rows, int y0, int[] samples, byte[] line, long[] counts,
        Deflater deflater, byte[] zbuf, ByteArrayOutputStream idat, DataOutputStream out) {
    for (int j = 0; j < rows; j++) {
        if (raster == null) {
            Arrays.fill(samples, 0)
        } else {
            raster.getSamples(0, j, w, 1, 0, samples)
        }
        for (int i = 0; i < w; i++) {
            int v = samples[i]
            if (v < 0 || v > 255) {
                throw new IllegalStateException("label " + v + " at mask pixel (" + i + ", " + (y0 + j) + ") does not fit 8 bits")
            }
            counts[v]++
            line[i + 1] = (byte) v
        }
        deflater.setInput(line)
        while (!deflater.needsInput()) {
            pngDrain(deflater, zbuf, idat, out)
        }
    }
}

if (!(DOWNSAMPLE instanceof Number) || DOWNSAMPLE < 1 || DOWNSAMPLE != Math.floor(DOWNSAMPLE as double)) {
    throw new IllegalArgumentException("DOWNSAMPLE must be a whole number >= 1, not ${DOWNSAMPLE}")
}
int d = DOWNSAMPLE as int
if (!(STRIP_ROWS instanceof Number) || STRIP_ROWS < 1) {
    throw new IllegalArgumentException("STRIP_ROWS must be >= 1, not ${STRIP_ROWS}")
}
int stripRows = STRIP_ROWS as int
def labels = new LinkedHashMap<String, Integer>()
LABELS.each { name, label ->
    if (!(label instanceof Number) || label < 1 || label > 255 || label != Math.floor(label as double)) {
        throw new IllegalArgumentException("LABELS: '${name}' -> ${label}: labels are whole numbers 1-255 (8-bit mask)")
    }
    labels.put(name as String, label as int)
}

def imageData = getCurrentImageData()
def server = imageData.getServer()
def entry = getProjectEntry()
String imageName = entry == null ? server.getMetadata().getName() : entry.getImageName()
def (String stem, String warning) = h2gFileStem(getProject(), entry, imageName)
if (warning != null) {
    println "h2g masks: ${warning}"
}

// floor(W/d) x floor(H/d), as the paper's masks (QuPath's own whole-image export rounds)
int w = server.getWidth().intdiv(d)
int h = server.getHeight().intdiv(d)
if (w < 1 || h < 1) {
    println "h2g masks: '${imageName}' (${server.getWidth()} x ${server.getHeight()}) is smaller than one mask pixel; skipped"
    return
}

def builder = new LabeledImageServer.Builder(imageData)
        .useAnnotations()
        .backgroundLabel(0)
        .downsample(d as double)
        .multichannelOutput(false)
labels.each { name, label -> builder.addLabel(name, label) }
def labelServer = builder.build()
String serverPath = labelServer.getPath()
boolean hasReadRegion = labelServer.metaClass.respondsTo(labelServer, 'readRegion')

mkdirs(MASK_DIR)
def out = new File(MASK_DIR, stem + '.png')
def tmp = new File(MASK_DIR, stem + '.png.part')
long[] counts = new long[256]
int strips = 0
boolean complete = false
def stream = new DataOutputStream(new BufferedOutputStream(new FileOutputStream(tmp), 1 << 16))
try {
    stream.write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] as byte[])
    def ihdr = new ByteArrayOutputStream()
    def ihdrData = new DataOutputStream(ihdr)
    ihdrData.writeInt(w)
    ihdrData.writeInt(h)
    ihdrData.write([8, 0, 0, 0, 0] as byte[])   // bit depth 8, greyscale, deflate, no filter, no interlace
    pngChunk(stream, 'IHDR', ihdr.toByteArray(), ihdr.size())

    Deflater deflater = new Deflater(6)
    byte[] zbuf = new byte[1 << 16]
    def idat = new ByteArrayOutputStream(1 << 20)
    byte[] line = new byte[w + 1]                // filter byte 0 (none), then the row
    int[] samples = new int[w]
    for (int y0 = 0; y0 < h; y0 += stripRows) {
        int rows = Math.min(stripRows, h - y0)
        def request = RegionRequest.createInstance(serverPath, d as double, 0, y0 * d, w * d, rows * d)
        // readRegion: QuPath 0.4+; readBufferedImage: 0.2/0.3 (null where no object is drawn)
        def img = hasReadRegion ? labelServer.readRegion(request) : labelServer.readBufferedImage(request)
        if (img != null && (img.getWidth() != w || img.getHeight() != rows)) {
            throw new IllegalStateException("the label server gave ${img.getWidth()} x ${img.getHeight()} " +
                    "pixels for mask rows ${y0}-${y0 + rows - 1}, not ${w} x ${rows}")
        }
        pngRows(img == null ? null : img.getRaster(), w, rows, y0, samples, line, counts, deflater, zbuf, idat, stream)
        strips++
    }
    deflater.finish()
    while (!deflater.finished()) {
        pngDrain(deflater, zbuf, idat, stream)
    }
    deflater.end()
    if (idat.size() > 0) {
        pngChunk(stream, 'IDAT', idat.toByteArray(), idat.size())
    }
    pngChunk(stream, 'IEND', new byte[0], 0)
    stream.close()
    try {
        Files.move(tmp.toPath(), out.toPath(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE)
    } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp.toPath(), out.toPath(), StandardCopyOption.REPLACE_EXISTING)
    }
    complete = true
} finally {
    if (!complete) {
        stream.close()
        tmp.delete()
    }
}
def painted = labels.collect { name, label -> "${name}=${label}: ${counts[label]} px" }.join(', ')
println "h2g masks: '${imageName}' -> ${out.getPath()} (${w} x ${h} at downsample ${d}, " +
        "${strips} strips of ${stripRows} rows; ${painted}; background: ${counts[0]} px)"
