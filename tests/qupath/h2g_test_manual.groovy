/*
 * Test only: adds one "Manual" rectangle annotation (10, 20, 30, 40), as an annotator would,
 * to check that an import without replace keeps it and one with replace removes it.
 */

import qupath.lib.objects.PathObjects
import qupath.lib.objects.classes.PathClass
import qupath.lib.objects.classes.PathClassFactory
import qupath.lib.regions.ImagePlane
import qupath.lib.roi.ROIs

boolean hasFromString = PathClass.getMethods().any { it.getName() == 'fromString' && it.getParameterCount() == 1 }
def pathClass = hasFromString ? PathClass.fromString('Manual') : PathClassFactory.getPathClass('Manual')
def o = PathObjects.createAnnotationObject(ROIs.createRectangleROI(10, 20, 30, 40, ImagePlane.getDefaultPlane()), pathClass)
def hierarchy = getCurrentHierarchy()
if (hierarchy.metaClass.respondsTo(hierarchy, 'addObjects')) {
    hierarchy.addObjects([o])
} else {
    hierarchy.addPathObjects([o])
}
println "h2g test manual: 1"
