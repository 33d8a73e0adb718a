// Test-only checker for QuPath 0.2.3 and 0.3.2, which have no PathIO.readObjects(Path): every
// <project>/h2g-check/*.geojson is parsed the way that version imports GeoJSON (0.3: PathIO's
// GeoJSON reader; 0.2: GsonTools, one Feature at a time), and each object is reported as
//   H2GCHECK OBJ file idx class #RRGGBB area valid
// then per file H2GCHECK FILE file features objects, per class H2GCHECK CLASS file class n area,
// and per pair of classes H2GCHECK OVERLAP file a b area (of the unions' intersection, JTS).
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import org.locationtech.jts.geom.Geometry
import org.locationtech.jts.operation.union.UnaryUnionOp

def dir = new File(buildFilePath(PROJECT_BASE_DIR, "h2g-check"))
def files = (dir.listFiles() ?: []).findAll { it.name.endsWith(".geojson") }.sort { it.name }
if (files.isEmpty())
    throw new IllegalStateException("no .geojson files in " + dir)
def version = GeneralTools.getVersion()
def gson = GsonTools.getInstance()
for (f in files) {
    def text = f.getText("UTF-8")
    def root = JsonParser.parseString(text).getAsJsonObject()
    def nFeatures = root.getAsJsonArray("features").size()
    def objects
    if (version.startsWith("0.2")) {
        objects = root.getAsJsonArray("features").collect { gson.fromJson(it, PathObject.class) }
    } else {
        objects = PathIO.readObjectsFromGeoJSON(new ByteArrayInputStream(text.getBytes("UTF-8")))
    }
    println "H2GCHECK FILE ${f.name} ${nFeatures} ${objects.size()}"
    def byClass = [:]
    objects.eachWithIndex { o, i ->
        def pc = o.getPathClass()
        def name = pc == null ? "-" : pc.getName()
        def rgb = pc == null ? null : pc.getColor()
        def hex = rgb == null ? "-" : String.format("#%02X%02X%02X",
                ColorTools.red(rgb), ColorTools.green(rgb), ColorTools.blue(rgb))
        def g = o.getROI().getGeometry()
        println "H2GCHECK OBJ ${f.name} ${i} ${name} ${hex} ${o.getROI().getArea()} ${g.isValid()}"
        byClass.computeIfAbsent(name, { [] }).add(g)
    }
    def unions = [:]
    byClass.each { name, gs ->
        def area = gs.sum { it.getArea() }
        println "H2GCHECK CLASS ${f.name} ${name} ${gs.size()} ${area}"
        unions[name] = UnaryUnionOp.union(gs)
    }
    def names = unions.keySet().toList().sort()
    for (int a = 0; a < names.size(); a++)
        for (int b = a + 1; b < names.size(); b++)
            println "H2GCHECK OVERLAP ${f.name} ${names[a]} ${names[b]} " +
                    "${unions[names[a]].intersection(unions[names[b]]).getArea()}"
}
