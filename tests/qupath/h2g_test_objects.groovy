/*
 * Test only (scripts/check-qupath-scripts.sh): adds annotations to the current image through
 * QuPath's own ROI API, one class per shape kind, so that the exported masks can be compared
 * with `h2g rasterize` kind by kind. Meant for a 4003 x 3001 image. The kinds:
 *   Tumor     polygons with fractional vertices (and the class of the paper's default mask)
 *   Holed     polygons with holes (one from JTS, one from RoiTools subtraction)
 *   Stroma    a polygon overlapping a Tumor polygon
 *   Rect      rectangles, (401, 453, 100, 100) among them
 *   Ellipse   ellipses
 *   Line      lines
 *   Polyline  polylines
 *   Point     point sets
 *   (none)    an unclassified polygon over a Tumor polygon
 * The kinds lie apart (except Stroma and the unclassified one over Tumor), so one mask with a
 * label per kind tells the differing pixels of each kind.
 * Prints "h2g test objects: N" (N annotations added).
 */

import org.locationtech.jts.geom.Coordinate
import org.locationtech.jts.geom.GeometryFactory
import org.locationtech.jts.geom.LinearRing
import qupath.lib.objects.PathObject
import qupath.lib.objects.PathObjects
import qupath.lib.objects.classes.PathClass
import qupath.lib.objects.classes.PathClassFactory
import qupath.lib.regions.ImagePlane
import qupath.lib.roi.GeometryTools
import qupath.lib.roi.ROIs
import qupath.lib.roi.RoiTools

def plane = ImagePlane.getDefaultPlane()
// PathClass.fromString: 0.4+; PathClassFactory.getPathClass: 0.2-0.7 (deprecated from 0.4)
boolean hasFromString = PathClass.getMethods().any { it.getName() == 'fromString' && it.getParameterCount() == 1 }
def cls = { String name -> name == null ? null : (hasFromString ? PathClass.fromString(name) : PathClassFactory.getPathClass(name)) }
def objects = []
def add = { roi, String name -> objects << PathObjects.createAnnotationObject(roi, cls(name)) }
def poly = { List<List<Double>> pts -> ROIs.createPolygonROI(pts.collect { it[0] } as double[], pts.collect { it[1] } as double[], plane) }

// Tumor: fractional vertices, a concave one, one across many mask strips
add(poly([[100.3, 120.7], [700.6, 90.25], [820.1, 610.9], [450.45, 380.3], [130.8, 700.05]]), 'Tumor')
add(poly([[1000.5, 1000.5], [1600.25, 1010.75], [1580.9, 2400.1], [1200.33, 2000.66], [990.1, 2600.4]]), 'Tumor')
add(poly([[3000.01, 100.99], [3990.7, 130.2], [3500.5, 1200.6]]), 'Tumor')
// Stroma over the second Tumor polygon; an unclassified one over the first
add(poly([[1300.2, 1500.6], [2200.8, 1450.3], [2100.4, 2100.9], [1400.7, 2050.1]]), 'Stroma')
add(poly([[300.5, 200.5], [600.25, 220.75], [500.1, 500.2]]), null)

// Holed: a JTS polygon with two holes, and a rectangle minus an ellipse
def gf = new GeometryFactory()
def ring = { List<List<Double>> pts ->
    def c = pts.collect { new Coordinate(it[0] as double, it[1] as double) }
    c << c[0]
    gf.createLinearRing(c as Coordinate[])
}
def shell = ring([[2000.3, 200.6], [2900.8, 250.1], [2850.5, 1100.4], [2050.9, 1050.7]])
def holes = [ring([[2200.1, 400.2], [2400.6, 410.8], [2390.3, 600.5]]),
             ring([[2500.5, 700.5], [2700.25, 700.5], [2700.25, 900.75], [2500.5, 900.75]])] as LinearRing[]
add(GeometryTools.geometryToROI(gf.createPolygon(shell, holes), plane), 'Holed')
add(RoiTools.combineROIs(ROIs.createRectangleROI(200.5, 1500.5, 600.5, 500.5, plane),
        ROIs.createEllipseROI(350.3, 1600.7, 250.2, 200.9, plane), RoiTools.CombineOp.SUBTRACT), 'Holed')

// Rect
add(ROIs.createRectangleROI(401, 453, 100, 100, plane), 'Rect')
add(ROIs.createRectangleROI(1203.5, 250.25, 333.3, 77.7, plane), 'Rect')
add(ROIs.createRectangleROI(3700.6, 2700.2, 302.4, 300.8, plane), 'Rect')

// Ellipse
add(ROIs.createEllipseROI(1700.5, 2500.25, 300.3, 200.7, plane), 'Ellipse')
add(ROIs.createEllipseROI(50.2, 2800.6, 13.3, 9.9, plane), 'Ellipse')

// Line
add(ROIs.createLineROI(10.5, 2950.5, 900.2, 2700.9, plane), 'Line')
add(ROIs.createLineROI(2000.3, 2800.5, 3500.7, 2800.5, plane), 'Line')
add(ROIs.createLineROI(3900.2, 1500.1, 3900.2, 2500.9, plane), 'Line')

// Polyline
add(ROIs.createPolylineROI([2300.5, 2600.2, 2900.7, 3300.1] as double[], [1300.5, 1900.9, 1400.2, 2300.6] as double[], plane), 'Polyline')

// Point
add(ROIs.createPointsROI([1000.5, 1003.9, 2500.25, 3999.5, 7.7] as double[], [300.5, 300.1, 2200.75, 5.2, 8.8] as double[], plane), 'Point')

def hierarchy = getCurrentHierarchy()
// addObjects: 0.4+; addPathObjects: 0.2-0.5
if (hierarchy.metaClass.respondsTo(hierarchy, 'addObjects')) {
    hierarchy.addObjects(objects)
} else {
    hierarchy.addPathObjects(objects)
}
println "h2g test objects: ${objects.size()}"
